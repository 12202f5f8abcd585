package outboxtest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// RunEviction checks that the eviction of an outbox that implements
// [outbox.EvictionPlanner] chooses what [outbox.PlanEviction] chooses on the
// same records (DESIGN §6 order), for every size need from nothing to
// everything. An outbox that does not evict skips it.
func RunEviction(t *testing.T, newOutbox func(t *testing.T) outbox.Outbox) {
	o := newOutbox(t)
	p, ok := o.(outbox.EvictionPlanner)
	if !ok {
		t.Skipf("%T does not evict", o)
	}
	ctx := context.Background()
	recs := MustAppend(t, o, evictionMix()...)
	// Deliver some: the ticket records whose event id ends in "s".
	var sent []uint64
	at := time.Unix(1_800_000_000, 0)
	for i, r := range recs {
		if r.IsTicket() && strings.HasSuffix(r.EventID, "s") {
			sent = append(sent, r.Seq)
			recs[i].SentAt = at
		}
	}
	if err := o.MarkSent(ctx, at, sent...); err != nil {
		t.Fatal(err)
	}
	all := outbox.PlanEviction(recs, 1<<62, p.EvictionFreed)
	if len(all) == 0 {
		t.Fatal("nothing may be evicted from the mix: the check would prove nothing")
	}
	var total int64
	needs := []int64{0, 1}
	for _, r := range outbox.EvictionOrder(recs) {
		total += max(p.EvictionFreed(r, r.IsTicket() && r.SentAt.IsZero()), 0)
		needs = append(needs, total-1, total, total+1)
	}
	for _, need := range needs {
		got, err := p.EvictionPlan(ctx, need)
		if err != nil {
			t.Fatalf("EvictionPlan(%d): %v", need, err)
		}
		want := outbox.PlanEviction(recs, need, p.EvictionFreed)
		if !slices.Equal(got, want) {
			t.Fatalf("EvictionPlan(%d) = %v, want (outbox.PlanEviction) %v", need, got, want)
		}
	}
}

// evictionMix is records of every kind eviction tells apart: telemetry,
// delivered and unsent ticket records, cleared and open tickets of every
// level, an open level-1 and a fire-class ticket, a test record and
// payloads both smaller and larger than a tombstone. An event id ending
// in "s" marks a record RunEviction delivers.
func evictionMix() []outbox.Record {
	var out []outbox.Record
	big := strings.Repeat("x", 1500)
	tk := func(ticket, ev, state string, level, prio int, payload string) {
		out = append(out, outbox.Record{EventID: ev, TicketID: "gw/" + ticket, State: state, Hazard: "h", Rule: "R1",
			Device: "dev-" + ticket, Level: level, Priority: prio, Payload: fmt.Appendf(nil, `{"ev":%q,"p":%q}`, ev, payload)})
	}
	tel := func(n int) { out = append(out, Telemetry(n)) }
	tel(1)
	tk("l1-open", "e1", "open", 1, outbox.PriorityLevel1, big)
	tk("l3-cleared", "e2s", "open", 3, outbox.PriorityTicket, big)
	tk("l4-open", "e3", "open", 4, outbox.PriorityTicket, big)
	tel(2)
	tk("l3-cleared", "e4", "clear", 3, outbox.PriorityTicket, big)
	tk("l2-esc", "e5", "open", 2, outbox.PriorityTicket, big)
	tk("fire-l2", "e6", "open", 2, outbox.PriorityLevel1, big)
	tk("l4-open", "e7", "escalate", 4, outbox.PriorityTicket, "")
	tk("l2-esc", "e8s", "escalate", 2, outbox.PriorityTicket, big)
	tk("l4-cleared", "e9", "open", 4, outbox.PriorityTicket, big)
	tk("l4-cleared", "e10", "clear", 4, outbox.PriorityTicket, "")
	tk("l1-cleared", "e11s", "open", 1, outbox.PriorityLevel1, big)
	tk("l1-cleared", "e12", "clear", 1, outbox.PriorityLevel1, big)
	tk("test", "e13", "test", 3, outbox.PriorityTicket, big)
	tel(3)
	tk("l2-open", "e14", "open", 2, outbox.PriorityTicket, big)
	tk("l2-open", "e15s", "open", 2, outbox.PriorityTicket, big)
	tk("l2-open", "e16", "open", 2, outbox.PriorityTicket, big)
	tel(4)
	return out
}
