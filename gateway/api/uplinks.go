package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// UplinkState is one uplink in `diag status` and `diag queue`: its own
// backlog (the records it has not delivered yet: each uplink has its own
// delivery cursor) and its link. Name is "mqtt" or "gb26875"; Peer the
// broker URL (never with credentials) or the centre's host:port.
type UplinkState struct {
	Name             string    `json:"name"`
	Peer             string    `json:"peer"`
	Connected        bool      `json:"connected"`
	Depth            int       `json:"depth"`
	OldestUnsentAt   time.Time `json:"oldest_unsent_at,omitzero"`
	OldestUnsentAgeS float64   `json:"oldest_unsent_age_s"`
	Sent             uint64    `json:"sent"`
	// LastDeliveryAt is the peer's last acknowledgement of a record: the
	// broker's PUBACK, the centre's confirm (3).
	LastDeliveryAt time.Time `json:"last_delivery_at,omitzero"`
	// TransmissionFault is this uplink's R25 verdict.
	TransmissionFault bool `json:"transmission_fault"`
	// ClockOffsetMS is the peer's clock minus the gateway's, when known
	// (the centre's clock sync, 90; the broker's time on MQTT).
	ClockOffsetMS *int64 `json:"clock_offset_ms,omitempty"`
	Error         string `json:"error,omitempty"` // its view of the outbox could not be read
}

// UplinkFrame is one frame of an uplink's link (`diag trace --uplink`):
// in hex and decoded.
type UplinkFrame struct {
	At      time.Time `json:"at"`
	Uplink  string    `json:"uplink"`
	Dir     string    `json:"dir"` // tx (the gateway wrote it), rx (the peer's)
	Hex     string    `json:"hex"`
	Summary string    `json:"summary"`
	Objects []string  `json:"objects,omitempty"`
	Error   string    `json:"error,omitempty"`
}

// UplinkTraceFunc follows an uplink's frames for d (/v1/uplink/trace),
// emitting "frame" events with UplinkFrame set.
type UplinkTraceFunc func(ctx context.Context, uplink string, d time.Duration, emit func(StreamEvent) error) error

// registerUplink routes /v1/uplink/trace?uplink=NAME&seconds=N.
func registerUplink(m *http.ServeMux, trace UplinkTraceFunc) {
	if trace == nil {
		return
	}
	m.HandleFunc("GET /v1/uplink/trace", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		secs, err := finite("seconds", q.Get("seconds"), 0, 3600)
		if err != nil {
			writeError(w, err)
			return
		}
		stream(w, r, func(emit func(StreamEvent) error) error {
			return trace(r.Context(), q.Get("uplink"), time.Duration(secs*float64(time.Second)), emit)
		})
	})
}

// UplinkTrace follows the frames of the daemon's uplink for d
// (/v1/uplink/trace), calling onFrame for each.
func (c *Client) UplinkTrace(ctx context.Context, uplink string, d time.Duration, onFrame func(UplinkFrame)) error {
	q := url.Values{"uplink": {uplink}, "seconds": {strconv.FormatFloat(d.Seconds(), 'f', -1, 64)}}
	return c.events(ctx, "/v1/uplink/trace?"+q.Encode(), func(ev StreamEvent) {
		if ev.Type == "frame" && ev.UplinkFrame != nil {
			onFrame(*ev.UplinkFrame)
		}
	})
}
