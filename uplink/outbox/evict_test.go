package outbox_test

import (
	"slices"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/outboxtest"
)

// TestEvictionOrder pins the DESIGN §6 order on a small history:
// telemetry, delivered tickets, then unsent tickets (cleared first, then
// level 4 before lower levels, oldest first); never an open level-1 or
// fire-class ticket, the latest record of an open ticket, an unsent
// tombstone.
func TestEvictionOrder(t *testing.T) {
	sent := time.Unix(1_800_000_000, 0)
	r := func(seq uint64, ticket, state string, level, prio int, delivered bool) outbox.Record {
		rec := outbox.Record{Seq: seq, TicketID: ticket, State: state, Level: level, Priority: prio, Payload: make([]byte, 1000)}
		if delivered {
			rec.SentAt = sent
		}
		return rec
	}
	const L1, T, Tel = outbox.PriorityLevel1, outbox.PriorityTicket, outbox.PriorityTelemetry
	recs := []outbox.Record{
		r(1, "a", "open", 1, L1, false),     // open level 1: never
		r(2, "b", "open", 3, T, false),      // cleared later: unsent, cleared
		r(3, "c", "open", 4, T, true),       // delivered, c still open
		r(4, "c", "escalate", 4, T, false),  // latest of open c: never
		r(5, "b", "clear", 3, T, false),     // cleared, unsent
		r(6, "d", "open", 2, L1, false),     // fire class: never
		r(7, "e", "open", 2, T, false),      // older record of open e
		r(8, "e", "open", 2, T, false),      // latest of open e: never
		r(9, "f", "dropped", 3, T, false),   // unsent tombstone: never
		r(10, "g", "open", 4, T, false),     // older record of open g (level 4)
		r(11, "g", "escalate", 4, T, false), // latest of open g: never
		r(3, "", "", 0, Tel, false),         // telemetry (its own seq numbers)
		r(12, "h", "clear", 2, T, true),     // delivered, cleared
	}
	var got []uint64
	for _, e := range outbox.EvictionOrder(recs) {
		got = append(got, e.Seq)
	}
	// Telemetry 3; delivered: h 12 (cleared) before c 3; unsent: cleared b
	// (2, 5 by seq), then g 10 (level 4) before e 7 (level 2).
	want := []uint64{3, 12, 3, 2, 5, 10, 7}
	if !slices.Equal(got, want) {
		t.Fatalf("EvictionOrder seqs = %v, want %v", got, want)
	}
	plan := outbox.PlanEviction(recs, 1500, func(r outbox.Record, tomb bool) int64 {
		if tomb {
			return int64(len(r.Payload)) - 600
		}
		return int64(len(r.Payload))
	})
	wantPlan := []outbox.Eviction{{Seq: 3}, {Seq: 12}}
	if !slices.Equal(plan, wantPlan) {
		t.Fatalf("PlanEviction(1500) = %v, want %v", plan, wantPlan)
	}
}

func TestMemoryEviction(t *testing.T) {
	outboxtest.RunEviction(t, func(t *testing.T) outbox.Outbox { return outbox.NewMemory() })
}

// TestDeliveredByAll: with two uplinks a record is delivered (deleted by
// eviction) only when both have it, at the later mark; one uplink's mark
// leaves it unsent (a tombstone).
func TestDeliveredByAll(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	recs := []outbox.Record{
		{Seq: 1, TicketID: "x", State: "clear", Level: 3, Priority: outbox.PriorityTicket, Payload: make([]byte, 1000)},
		{Seq: 2, TicketID: "y", State: "clear", Level: 3, Priority: outbox.PriorityTicket, Payload: make([]byte, 1000), SentAt: t0},
	}
	marks := map[string]map[uint64]time.Time{
		"mqtt":    {1: t0, 2: t0},
		"gb26875": {2: t0.Add(time.Second)},
	}
	seen := outbox.DeliveredByAll(recs, []string{"mqtt", "gb26875"}, marks)
	if !seen[0].SentAt.IsZero() || !seen[1].SentAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("SentAt = %v, %v; want zero (gb26875 lacks seq 1) and the later mark", seen[0].SentAt, seen[1].SentAt)
	}
	if recs[1].SentAt != t0 {
		t.Fatal("DeliveredByAll must not modify its argument")
	}
	plan := outbox.PlanEviction(seen, 1<<40, func(outbox.Record, bool) int64 { return 1 })
	want := []outbox.Eviction{{Seq: 2}, {Seq: 1, Tombstone: true}}
	if !slices.Equal(plan, want) {
		t.Fatalf("plan = %v, want %v", plan, want)
	}
}
