package outboxtest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// RunHistory checks [outbox.Historian] on a fresh outbox made by
// newOutbox: ticket records only, in time order (CreatedAt, then seq, not
// the sending order), sent and unsent, bounded by Since/Until, one ticket,
// the newest Limit.
func RunHistory(t *testing.T, newOutbox func(t *testing.T) outbox.Outbox) {
	o := newOutbox(t)
	h, ok := o.(outbox.Historian)
	if !ok {
		t.Fatalf("%T does not implement outbox.Historian", o)
	}
	ctx := context.Background()
	base := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
	// Appended out of time order: the level-1 record (appended last, sent
	// first) happened at minute 1.
	r1 := Ticket(1, 3)
	r1.CreatedAt = at(0)
	r2 := Ticket(2, 2)
	r2.CreatedAt = at(2)
	tm := Telemetry(1)
	tm.CreatedAt = at(1)
	r3 := Ticket(3, 1)
	r3.CreatedAt = at(1)
	recs := MustAppend(t, o, r1, r2, tm, r3)
	if err := o.MarkSent(ctx, at(3), recs[3].Seq, recs[0].Seq); err != nil {
		t.Fatal(err)
	}
	query := func(q outbox.HistoryQuery) []outbox.Record {
		t.Helper()
		got, err := h.History(ctx, q)
		if err != nil {
			t.Fatalf("History(%+v): %v", q, err)
		}
		return got
	}
	all := query(outbox.HistoryQuery{})
	if got, want := Seqs(all), []uint64{1, 3, 2}; !slices.Equal(got, want) {
		t.Fatalf("History seqs %v, want %v (time order, no telemetry)", got, want)
	}
	if !all[0].SentAt.Equal(at(3)) || !all[1].SentAt.Equal(at(3)) || !all[2].SentAt.IsZero() {
		t.Errorf("SentAt %v %v %v; want the first two delivered at %v", all[0].SentAt, all[1].SentAt, all[2].SentAt, at(3))
	}
	if !all[0].CreatedAt.Equal(at(0)) || all[0].Hazard != "smoke_fire_alarm" || all[0].Device != "dev-1" || all[0].Level != 3 {
		t.Errorf("first record %+v", all[0])
	}
	if got := Seqs(query(outbox.HistoryQuery{Since: at(1), Until: at(2)})); !slices.Equal(got, []uint64{3}) {
		t.Errorf("Since 1 min, Until 2 min: seqs %v, want [3] (Until excluded)", got)
	}
	if got := Seqs(query(outbox.HistoryQuery{TicketID: r2.TicketID})); !slices.Equal(got, []uint64{2}) {
		t.Errorf("TicketID %s: seqs %v, want [2]", r2.TicketID, got)
	}
	if got := Seqs(query(outbox.HistoryQuery{Limit: 2})); !slices.Equal(got, []uint64{3, 2}) {
		t.Errorf("Limit 2: seqs %v, want the newest two oldest first [3 2]", got)
	}
}
