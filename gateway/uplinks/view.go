package uplinks

import (
	"context"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// Names is the uplinks of cfg's outbox, in order: ["mqtt"] alone, or
// ["mqtt", "gb26875"] when uplink.gb26875 is configured. Each has a
// delivery cursor of its own (outbox.Cursors).
func Names(gb26875 bool) []string {
	if gb26875 {
		return []string{outbox.DefaultUplink, GB26875Name}
	}
	return []string{outbox.DefaultUplink}
}

// View is one uplink's view of the guard (outbox.For) that keeps the
// guard's maintenance (outbox.Maintainer: retention and the size bound,
// run by the MQTT link) and acks (outbox.Acker, the township's acks on
// the MQTT link): a per-uplink view has neither, but they are the whole
// outbox's, not one uplink's.
type View struct {
	outbox.Outbox
	guard *outbox.Guard
}

// NewView returns uplink name's view of g.
func NewView(g *outbox.Guard, name string) (View, error) {
	v, err := outbox.For(g, name)
	if err != nil {
		return View{}, err
	}
	return View{Outbox: v, guard: g}, nil
}

// Prune implements outbox.Maintainer on the whole outbox.
func (v View) Prune(ctx context.Context, now time.Time, r outbox.Retention) (int, error) {
	return v.guard.Prune(ctx, now, r)
}

// Evict implements outbox.Maintainer on the whole outbox.
func (v View) Evict(ctx context.Context, maxBytes int64) (outbox.Evicted, error) {
	return v.guard.Evict(ctx, maxBytes)
}

// Ack implements outbox.Acker.
func (v View) Ack(ctx context.Context, ticketID, by string, at time.Time) error {
	return v.guard.Ack(ctx, ticketID, by, at)
}

// Acks implements outbox.Acker.
func (v View) Acks(ctx context.Context, ticketID string) ([]outbox.Ack, error) {
	return v.guard.Acks(ctx, ticketID)
}
