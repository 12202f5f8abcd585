package serve

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/station/store"
)

// Bounds of the live feed (GET /api/stream).
const (
	maxSubscribers = 32               // open streams; one more gets 503
	subscriberBuf  = 64               // events queued per stream; a stream that falls behind is closed
	streamTick     = 15 * time.Second // a keep-alive "tick" (the console refreshes its lists on it)
)

// feedEvent is one message of the live feed: a new ticket event, or an
// order that changed step.
type feedEvent struct {
	Kind     string    `json:"kind"` // "ticket" | "order"
	OrderID  int64     `json:"order_id,omitempty"`
	TicketID string    `json:"ticket_id"`
	Township string    `json:"township"`
	Gateway  string    `json:"gateway"`
	Seq      uint64    `json:"seq,omitempty"`
	State    string    `json:"state,omitempty"`
	Hazard   string    `json:"hazard"`
	LabelZh  string    `json:"label_zh"`
	LabelEn  string    `json:"label_en"`
	Level    int       `json:"level"`
	Location string    `json:"location,omitempty"`
	Status   string    `json:"status,omitempty"`
	At       time.Time `json:"at"`
}

// hub fans the live feed out to a bounded set of subscribers. publish
// never blocks: a subscriber whose queue is full is dropped (its browser
// reconnects and reloads the lists).
type hub struct {
	mu     sync.Mutex
	subs   map[chan []byte]struct{}
	closed bool
	done   chan struct{}
}

func newHub() *hub {
	return &hub{subs: map[chan []byte]struct{}{}, done: make(chan struct{})}
}

// subscribe adds a subscriber; false when the hub is full or closed.
func (h *hub) subscribe() (chan []byte, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || len(h.subs) >= maxSubscribers {
		return nil, false
	}
	ch := make(chan []byte, subscriberBuf)
	h.subs[ch] = struct{}{}
	return ch, true
}

func (h *hub) unsubscribe(ch chan []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}

// publish sends ev to every subscriber without waiting.
func (h *hub) publish(ev feedEvent) {
	b, err := json.Marshal(ev)
	if err != nil {
		return // a feedEvent always marshals
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- b:
		default: // too slow: drop it; EventSource reconnects
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// close ends every stream (the HTTP server is shutting down).
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
}

// ticketEvent is the feed event of a stored ticket message.
func ticketEvent(m store.Message) (feedEvent, bool) {
	if m.Kind != store.KindTicket || m.Ticket == nil || m.Reject != "" {
		return feedEvent{}, false
	}
	t := m.Ticket
	return feedEvent{Kind: "ticket", TicketID: t.TicketID, Township: m.Township, Gateway: m.Gateway, Seq: t.Seq,
		State: t.State, Hazard: t.Hazard, LabelZh: t.Label.Zh, LabelEn: t.Label.En, Level: t.Level,
		Location: t.Device.Location, At: m.Rx}, true
}

// orderEvent is the feed event of an order that changed.
func orderEvent(o store.Order, at time.Time) feedEvent {
	return feedEvent{Kind: "order", OrderID: o.ID, TicketID: o.TicketID, Township: o.Township, Gateway: o.Gateway,
		Hazard: o.Hazard, LabelZh: o.LabelZh, LabelEn: o.LabelEn, Level: o.Level, Location: o.Location, Status: o.Status, At: at}
}

// stream serves GET /api/stream as Server-Sent Events: "feed" events
// (JSON of feedEvent) and a "tick" every streamTick.
func (a *api) stream(w http.ResponseWriter, r *http.Request, _ caller) {
	ch, ok := a.hub.subscribe()
	if !ok {
		fail(w, http.StatusServiceUnavailable, fmt.Sprintf("live feed: %d streams open already; the lists still work", maxSubscribers))
		return
	}
	defer a.hub.unsubscribe(ch)
	rc := http.NewResponseController(w)
	if err := rc.SetWriteDeadline(time.Time{}); err != nil { // the server's WriteTimeout would cut the stream
		fail(w, http.StatusInternalServerError, "live feed: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(streamTick)
	defer tick.Stop()
	msg := []byte("event: tick\ndata: {}\n\n")
	for {
		if _, err := w.Write(msg); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case b, open := <-ch:
			if !open {
				return
			}
			msg = fmt.Appendf(nil, "event: feed\ndata: %s\n\n", b)
		case <-tick.C:
			msg = []byte("event: tick\ndata: {}\n\n")
		case <-r.Context().Done():
			return
		case <-a.hub.done:
			return
		}
	}
}

// liveFeed makes the hub of the live feed and has the ingester publish
// each stored ticket event to it after its commit.
func liveFeed(in *ingester) *hub {
	h := newHub()
	in.notify = func(m store.Message) {
		if ev, ok := ticketEvent(m); ok {
			h.publish(ev)
		}
	}
	return h
}
