package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Endpoints of this file:
//
//	GET  /v1/history     History   (?since=T&until=T RFC 3339, ?ticket=ID, ?limit=N)
//	POST /v1/test-alarm  TestAlarm (?device=D)

// HistoryQuery selects the records of /v1/history. Zero fields select all.
type HistoryQuery struct {
	Since, Until time.Time // Since <= created < Until
	TicketID     string
	Limit        int // the newest N
}

// History is the answer of /v1/history: the stored alarm and fault
// records (ticket events, sent or not) in time order.
type History struct {
	Now     time.Time       `json:"now"`
	Since   time.Time       `json:"since,omitzero"`
	Until   time.Time       `json:"until,omitzero"`
	Records []HistoryRecord `json:"records"`
}

// HistoryRecord is one ticket event as the outbox keeps it.
type HistoryRecord struct {
	Seq        uint64    `json:"seq"`
	CreatedAt  time.Time `json:"created_at"` // when the gateway decided it
	State      string    `json:"state"`      // open | escalate | clear | test | dropped
	Level      int       `json:"level"`
	Hazard     string    `json:"hazard"`
	LabelZh    string    `json:"label_zh,omitempty"`
	LabelEn    string    `json:"label_en,omitempty"`
	Kind       string    `json:"kind,omitempty"` // alarm | hazard | fault
	Rule       string    `json:"rule"`
	Device     string    `json:"device"`
	DeviceName string    `json:"device_name,omitempty"`
	TicketID   string    `json:"ticket_id"`
	EventID    string    `json:"event_id"`
	// SentAt is when the broker acknowledged it (PUBACK); zero while it
	// waits in the outbox.
	SentAt  time.Time `json:"sent_at,omitzero"`
	AckedBy string    `json:"acked_by,omitempty"` // the township's last ack of the ticket
	AckedAt time.Time `json:"acked_at,omitzero"`
}

// TestAlarm is the answer of POST /v1/test-alarm: the `test` ticket event
// the daemon committed to its outbox.
type TestAlarm struct {
	Device      string    `json:"device"`
	Hazard      string    `json:"hazard"`
	Rule        string    `json:"rule"`
	Level       int       `json:"level"`
	TicketID    string    `json:"ticket_id"`
	EventID     string    `json:"event_id"`
	Seq         uint64    `json:"seq"`
	CommittedAt time.Time `json:"committed_at"`
}

// History reads /v1/history.
func (c *Client) History(ctx context.Context, q HistoryQuery) (History, error) {
	v := url.Values{}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.Format(time.RFC3339Nano))
	}
	if q.TicketID != "" {
		v.Set("ticket", q.TicketID)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	path := "/v1/history"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var h History
	return h, c.get(ctx, path, &h)
}

// TestAlarm asks the daemon to commit a `test` ticket of device: it
// returns once the event is in the outbox (the link publishes it next).
func (c *Client) TestAlarm(ctx context.Context, device string) (TestAlarm, error) {
	path := "/v1/test-alarm?" + url.Values{"device": {device}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://fenghuo"+path, nil)
	if err != nil {
		return TestAlarm{}, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return TestAlarm{}, c.dialError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return TestAlarm{}, fmt.Errorf("%s%s: %w", c.socket, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var eb errorBody
		if json.Unmarshal(body, &eb) == nil && eb.Error != "" {
			return TestAlarm{}, fmt.Errorf("daemon on %s: test-alarm: %s", c.socket, eb.Error)
		}
		return TestAlarm{}, fmt.Errorf("daemon on %s: test-alarm: %s", c.socket, resp.Status)
	}
	var ta TestAlarm
	if err := json.Unmarshal(body, &ta); err != nil {
		return TestAlarm{}, fmt.Errorf("daemon on %s: test-alarm: bad answer: %w", c.socket, err)
	}
	return ta, nil
}

// ErrNotFound is wrapped by a TestAlarm handler's error for an unknown
// device: the server answers 404 with its message.
var ErrNotFound = errors.New("not found")

// routeHistory adds /v1/history and /v1/test-alarm when their handlers
// are set.
func routeHistory(m *http.ServeMux, h Handlers, testAlarms *rateLimit) {
	if h.History != nil {
		m.HandleFunc("GET /v1/history", func(w http.ResponseWriter, r *http.Request) {
			q, err := parseHistoryQuery(r.URL.Query())
			if err != nil {
				writeJSON(w, http.StatusBadRequest, errorBody{Error: err.Error()})
				return
			}
			serve(func(ctx context.Context) (History, error) { return h.History(ctx, q) })(w, r)
		})
	}
	if h.TestAlarm != nil {
		m.HandleFunc("POST /v1/test-alarm", func(w http.ResponseWriter, r *http.Request) {
			dev := r.URL.Query().Get("device")
			if dev == "" {
				writeJSON(w, http.StatusBadRequest, errorBody{Error: "device is required"})
				return
			}
			ok, wait, giveBack := testAlarms.take()
			if !ok {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
				writeJSON(w, http.StatusTooManyRequests, errorBody{Error: fmt.Sprintf(
					"refused: at most %d test alarms a minute per gateway (each one is a ticket at the township); the next is allowed in %.0f s",
					testAlarms.max, math.Ceil(wait.Seconds()))})
				return
			}
			ta, err := h.TestAlarm(r.Context(), dev)
			if err != nil {
				giveBack() // nothing was committed: it does not count
			}
			switch {
			case err != nil && errors.Is(err, ErrNotFound):
				writeJSON(w, http.StatusNotFound, errorBody{Error: err.Error()})
			case err != nil:
				writeJSON(w, http.StatusInternalServerError, errorBody{Error: err.Error()})
			default:
				writeJSON(w, http.StatusOK, ta)
			}
		})
	}
}

func parseHistoryQuery(v url.Values) (HistoryQuery, error) {
	var q HistoryQuery
	for _, p := range []struct {
		key string
		t   *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if s := v.Get(p.key); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return q, fmt.Errorf("%s %q: want an RFC 3339 time", p.key, s)
			}
			*p.t = t
		}
	}
	q.TicketID = v.Get("ticket")
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return q, fmt.Errorf("limit %q: want a positive integer", s)
		}
		q.Limit = n
	}
	return q, nil
}
