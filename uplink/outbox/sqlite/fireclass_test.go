package sqlite_test

import (
	"context"
	"testing"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/outboxtest"
)

// TestEvictKeepsOpenFireClass: the gateway gives every event of a
// kind-alarm hazard priority 0 whatever its level (an R7 residual-current
// alarm is level 2); eviction never touches an open one, as it never
// touches an open level-1 ticket: not its latest record (kept for every
// open ticket) nor any earlier one, and seq stays gap-free.
func TestEvictKeepsOpenFireClass(t *testing.T) {
	ctx := context.Background()
	s := tempStore(t)
	var recs []outbox.Record
	for i := 1; i <= 20; i++ {
		recs = append(recs, payloadTicket(i, 3, "clear"))
	}
	fire := payloadTicket(21, 2, "open")
	fire.Priority = outbox.PriorityLevel1
	recs = append(recs, fire)
	for i := 22; i <= 40; i++ {
		recs = append(recs, payloadTicket(i, 3, "open"))
	}
	esc := payloadTicket(21, 2, "escalate") // the same episode, later
	esc.EventID, esc.Priority = "ev-21-escalate", outbox.PriorityLevel1
	recs = append(recs, esc)
	outboxtest.MustAppend(t, s, recs...)
	if _, err := s.Evict(ctx, 1); err != nil { // nothing can satisfy this limit
		t.Fatal(err)
	}
	pending := outboxtest.MustPending(t, s)
	if len(pending) != 41 {
		t.Fatalf("%d pending, want all 41 seqs (tombstones keep them)", len(pending))
	}
	if pending[0].Seq != 21 || pending[0].State != "open" || pending[1].Seq != 41 || pending[1].State != "escalate" {
		t.Fatalf("first pending %+v then %+v, want the open fire-class episode (seq 21, 41) intact and first", pending[0], pending[1])
	}
	dropped := 0
	for _, r := range pending {
		if r.State == "dropped" {
			dropped++
		}
	}
	if dropped == 0 {
		t.Fatal("nothing was tombstoned: the test proves nothing")
	}
}
