package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"
)

// Endpoint of this file:
//
//	POST /v1/control  Control (?device=D&action=reset|mute|self-test&by=NAME)

// ControlRequest asks the daemon to write a device's command register.
type ControlRequest struct {
	Device string
	Action string // reset | mute | self-test
	By     string // who asks; recorded with the operation
}

// Control is the answer of POST /v1/control: what was written, how the
// device answered, and the operation record committed to the outbox.
type Control struct {
	Device  string  `json:"device"`
	Action  string  `json:"action"`
	Point   string  `json:"point"`
	Address int     `json:"address"`
	Value   float64 `json:"value"`
	// Result is ok when the device acknowledged the write, failed when it
	// did not (Error says how).
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
	// The operation record: Seq 0 and RecordError set when it could not be
	// committed.
	Seq         uint64    `json:"seq,omitempty"`
	TicketID    string    `json:"ticket_id,omitempty"`
	RecordError string    `json:"record_error,omitempty"`
	At          time.Time `json:"at"`
}

// Control asks the daemon to write the device's command register for the
// action through its bus owner; the operation is recorded either way.
func (c *Client) Control(ctx context.Context, req ControlRequest) (Control, error) {
	v := url.Values{"device": {req.Device}, "action": {req.Action}}
	if req.By != "" {
		v.Set("by", req.By)
	}
	var res Control
	return res, c.do(ctx, http.MethodPost, "/v1/control?"+v.Encode(), &res)
}

// routeControl adds /v1/control when its handler is set.
func routeControl(m *http.ServeMux, h Handlers) {
	if h.Control == nil {
		return
	}
	m.HandleFunc("POST /v1/control", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		req := ControlRequest{Device: q.Get("device"), Action: q.Get("action"), By: q.Get("by")}
		if req.Device == "" || req.Action == "" {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: "device and action are required"})
			return
		}
		res, err := h.Control(r.Context(), req)
		switch {
		case err != nil && errors.Is(err, ErrNotFound):
			writeJSON(w, http.StatusNotFound, errorBody{Error: err.Error()})
		case err != nil:
			writeError(w, err)
		default:
			writeJSON(w, http.StatusOK, res)
		}
	})
}
