// Package testalarm is the transmission test of `fenghuo diag
// test-alarm` (GB/T 45839 5.8.4; GB 50440 asks for one twice a month): the
// daemon commits a ticket event with state "test" for a device, and Run
// follows it through the outbox until the broker acknowledged it (PUBACK)
// and the township did, or the wait runs out. A test ticket is never a real
// one: it opens nothing in the rule engine and goes after any real level-1
// event.
package testalarm

import (
	"context"
	"fmt"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
)

// Daemon is what the test needs of the running daemon: its local API
// (*api.Client).
type Daemon interface {
	TestAlarm(ctx context.Context, device string) (api.TestAlarm, error)
	History(ctx context.Context, q api.HistoryQuery) (api.History, error)
}

// Result is the test ticket and how far it got; `diag test-alarm --json`
// prints it.
type Result struct {
	api.TestAlarm
	SentAt  time.Time `json:"sent_at,omitzero"` // PUBACK
	AckedBy string    `json:"acked_by,omitempty"`
	AckedAt time.Time `json:"acked_at,omitzero"`
}

// Stage is a step of the test ticket's way, as Run reports it.
type Stage int

const (
	Committed Stage = iota // the daemon committed it to the outbox
	Sent                   // the broker acknowledged it (PUBACK)
	Acked                  // the township acknowledged it
	NotAcked               // the wait ran out after the PUBACK, without a township ack
)

// Poll is how often Run asks the daemon how far the ticket got.
const Poll = 100 * time.Millisecond

// Run commits the test ticket of device and follows it until the township
// acknowledges it or wait runs out, calling on at each stage. It returns
// an error when the daemon refuses or cannot be asked, when ctx ends, and
// when the broker did not acknowledge the ticket within wait (the ticket
// stays queued); a township that does not acknowledge is no error.
func Run(ctx context.Context, d Daemon, device string, wait time.Duration, on func(Stage, Result)) (Result, error) {
	ta, err := d.TestAlarm(ctx, device)
	if err != nil {
		return Result{}, err
	}
	res := Result{TestAlarm: ta}
	on(Committed, res)
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(Poll)
	defer tick.Stop()
	for {
		done, err := res.update(ctx, d, on)
		if done || err != nil {
			return res, err
		}
		select {
		case <-tick.C:
			continue
		case <-ctx.Done():
		}
		if err := parent.Err(); err != nil {
			return res, fmt.Errorf("interrupted (%v); the test ticket %s stays in the outbox", err, ta.TicketID)
		}
		if res.SentAt.IsZero() {
			return res, fmt.Errorf("the broker did not acknowledge the test ticket within %s: is the uplink down? (fenghuo diag status, fenghuo diag uplink); it stays queued and is sent once the link is back", wait)
		}
		on(NotAcked, res)
		return res, nil
	}
}

// update asks the daemon for the ticket's record and reports the stages
// it reached since the last time; done once the township acknowledged it.
// An error after ctx ended is no error: the caller's wait ran out.
func (res *Result) update(ctx context.Context, d Daemon, on func(Stage, Result)) (done bool, err error) {
	h, err := d.History(ctx, api.HistoryQuery{TicketID: res.TicketID})
	if err != nil {
		if ctx.Err() != nil {
			return false, nil
		}
		return false, err
	}
	if len(h.Records) == 0 {
		return false, nil
	}
	r := h.Records[len(h.Records)-1]
	if res.SentAt.IsZero() && !r.SentAt.IsZero() {
		res.SentAt = r.SentAt
		on(Sent, *res)
	}
	if r.AckedAt.IsZero() {
		return false, nil
	}
	res.AckedBy, res.AckedAt = r.AckedBy, r.AckedAt
	on(Acked, *res)
	return true, nil
}
