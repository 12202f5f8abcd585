// Package outboxtest is the conformance suite every [outbox.Outbox]
// implementation runs, as every slog handler runs slogtest.
package outboxtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// Run checks the contract of the outbox.Outbox package doc on fresh
// outboxes made by newOutbox. newOutbox registers its own cleanup.
func Run(t *testing.T, newOutbox func(t *testing.T) outbox.Outbox) {
	cases := []struct {
		name string
		fn   func(t *testing.T, o outbox.Outbox)
	}{
		{"SeqGapFreeInOrder", testSeqGapFree},
		{"TelemetryLeavesNoTicketGap", testTelemetrySeq},
		{"PendingByPriorityThenSeq", testPendingOrder},
		{"PendingMax", testPendingMax},
		{"MarkSent", testMarkSent},
		{"Stats", testStats},
		{"RejectsBadRecord", testRejects},
		{"ConcurrentAppendsGapFree", testConcurrent},
		{"OpenTickets", testOpenTickets},
		{"Ack", testAck},
		{"OldestUnsentTicket", testOldestUnsentTicket},
		{"Restore", testRestore},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newOutbox(t)) })
	}
}

// Ticket returns a ticket record for tests.
func Ticket(n int, level int) outbox.Record {
	prio := outbox.PriorityTicket
	if level == 1 {
		prio = outbox.PriorityLevel1
	}
	return outbox.Record{
		EventID: fmt.Sprintf("ev-%d", n), TicketID: fmt.Sprintf("gw/dev-%d/R1/x", n), State: "open",
		Hazard: "smoke_fire_alarm", Rule: "R1", Device: fmt.Sprintf("dev-%d", n), Level: level,
		Priority: prio, Payload: fmt.Appendf(nil, `{"n":%d}`, n),
	}
}

// Telemetry returns a telemetry record for tests.
func Telemetry(n int) outbox.Record {
	return outbox.Record{Priority: outbox.PriorityTelemetry, Payload: fmt.Appendf(nil, `{"t":%d}`, n)}
}

// MustAppend appends or fails the test.
func MustAppend(t testing.TB, o outbox.Outbox, recs ...outbox.Record) []outbox.Record {
	t.Helper()
	out, err := o.Append(context.Background(), recs...)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	if len(out) != len(recs) {
		t.Fatalf("Append returned %d records, want %d", len(out), len(recs))
	}
	return out
}

// MustPending returns all pending records or fails the test.
func MustPending(t testing.TB, o outbox.Outbox) []outbox.Record {
	t.Helper()
	out, err := o.Pending(context.Background(), 0)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	return out
}

// Seqs lists the seqs of records.
func Seqs(recs []outbox.Record) []uint64 {
	s := make([]uint64, len(recs))
	for i, r := range recs {
		s[i] = r.Seq
	}
	return s
}

func testSeqGapFree(t *testing.T, o outbox.Outbox) {
	a := MustAppend(t, o, Ticket(1, 2), Ticket(2, 3))
	b := MustAppend(t, o, Ticket(3, 1))
	got := Seqs(append(a, b...))
	if fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("seqs = %v, want [1 2 3]", got)
	}
	if a[0].CreatedAt.IsZero() || a[0].EventID != "ev-1" {
		t.Fatalf("Append must return the records with CreatedAt set: %+v", a[0])
	}
}

func testTelemetrySeq(t *testing.T, o outbox.Outbox) {
	a := MustAppend(t, o, Ticket(1, 2), Telemetry(1), Ticket(2, 2))
	if a[0].Seq != 1 || a[2].Seq != 2 {
		t.Fatalf("ticket seqs = %d, %d; want 1, 2", a[0].Seq, a[2].Seq)
	}
	if a[1].Seq <= outbox.TelemetrySeqBase {
		t.Fatalf("telemetry seq %d not above TelemetrySeqBase", a[1].Seq)
	}
}

func testPendingOrder(t *testing.T, o outbox.Outbox) {
	MustAppend(t, o, Telemetry(1), Ticket(1, 3), Ticket(2, 2))
	MustAppend(t, o, Ticket(3, 1), Telemetry(2), Ticket(4, 4), Ticket(5, 1))
	var got []string
	for _, r := range MustPending(t, o) {
		got = append(got, fmt.Sprintf("p%d/%s", r.Priority, r.EventID))
	}
	want := "[p0/ev-3 p0/ev-5 p1/ev-1 p1/ev-2 p1/ev-4 p2/ p2/]"
	if fmt.Sprint(got) != want {
		t.Fatalf("pending order = %v\nwant %s", got, want)
	}
}

func testPendingMax(t *testing.T, o outbox.Outbox) {
	MustAppend(t, o, Ticket(1, 2), Ticket(2, 2), Ticket(3, 2))
	got, err := o.Pending(context.Background(), 2)
	if err != nil || len(got) != 2 || got[0].Seq != 1 {
		t.Fatalf("Pending(2) = %v, %v; want seqs 1, 2", Seqs(got), err)
	}
}

func testMarkSent(t *testing.T, o outbox.Outbox) {
	recs := MustAppend(t, o, Ticket(1, 2), Ticket(2, 2), Ticket(3, 2))
	at := time.Now().Truncate(time.Millisecond)
	ctx := context.Background()
	if err := o.MarkSent(ctx, at, recs[0].Seq, recs[2].Seq); err != nil {
		t.Fatalf("MarkSent: %v", err)
	}
	if err := o.MarkSent(ctx, at, recs[0].Seq, 999); err != nil {
		t.Fatalf("MarkSent of a sent or unknown seq must not fail: %v", err)
	}
	if got := Seqs(MustPending(t, o)); fmt.Sprint(got) != "[2]" {
		t.Fatalf("pending after MarkSent = %v, want [2]", got)
	}
	st, err := o.Stats(ctx)
	if err != nil || st.Sent != 2 {
		t.Fatalf("Stats = %+v, %v; want Sent 2", st, err)
	}
}

func testStats(t *testing.T, o outbox.Outbox) {
	ctx := context.Background()
	st, err := o.Stats(ctx)
	if err != nil || st.Depth != 0 || !st.OldestUnsent.IsZero() || st.LastSeq != 0 {
		t.Fatalf("empty Stats = %+v, %v", st, err)
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	first := Ticket(1, 2)
	first.CreatedAt = old
	MustAppend(t, o, first, Ticket(2, 2), Telemetry(1))
	st, err = o.Stats(ctx)
	if err != nil || st.Depth != 3 || st.LastSeq != 2 || !st.OldestUnsent.Equal(old) {
		t.Fatalf("Stats = %+v, %v; want depth 3, last seq 2, oldest %v", st, err, old)
	}
}

func testRejects(t *testing.T, o outbox.Outbox) {
	bad := Ticket(1, 2)
	bad.Priority = 7
	if _, err := o.Append(context.Background(), Ticket(0, 2), bad); err == nil {
		t.Fatal("Append accepted priority 7")
	}
	if got := MustPending(t, o); len(got) != 0 {
		t.Fatalf("a rejected batch must leave nothing behind, got %v", Seqs(got))
	}
	if r := MustAppend(t, o, Ticket(2, 2)); r[0].Seq != 1 {
		t.Fatalf("seq after a rejected batch = %d, want 1", r[0].Seq)
	}
}

func testConcurrent(t *testing.T, o outbox.Outbox) {
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 10 {
				if _, err := o.Append(context.Background(), Ticket(g*100+i, 2)); err != nil {
					t.Errorf("Append: %v", err)
				}
			}
		})
	}
	wg.Wait()
	for i, r := range MustPending(t, o) {
		if r.Seq != uint64(i+1) {
			t.Fatalf("pending[%d].Seq = %d: seqs have a gap or a repeat", i, r.Seq)
		}
	}
}

func testOpenTickets(t *testing.T, o outbox.Outbox) {
	l, ok := o.(outbox.TicketLister)
	if !ok {
		t.Skip("does not implement TicketLister")
	}
	a, b := Ticket(1, 3), Ticket(2, 2)
	esc := a
	esc.State, esc.Level, esc.EventID = "escalate", 2, "ev-1b"
	clr := b
	clr.State, clr.EventID = "clear", "ev-2b"
	recs := MustAppend(t, o, a, b, esc, clr)
	got, err := l.OpenTickets(context.Background())
	if err != nil {
		t.Fatalf("OpenTickets: %v", err)
	}
	if len(got) != 1 || got[0].TicketID != a.TicketID || got[0].Level != 2 || got[0].Rule != "R1" || got[0].Device != "dev-1" {
		t.Fatalf("OpenTickets = %+v, want only %s at level 2", got, a.TicketID)
	}
	if !got[0].Since.Equal(recs[0].CreatedAt) {
		t.Fatalf("Since = %v, want the first record's CreatedAt %v", got[0].Since, recs[0].CreatedAt)
	}
}

// testAck: an outbox that records acks (outbox.Acker) keeps who and when,
// and refuses an id it has no record of.
func testAck(t *testing.T, o outbox.Outbox) {
	a, ok := o.(outbox.Acker)
	if !ok {
		t.Skip("not an outbox.Acker")
	}
	ctx := context.Background()
	r := MustAppend(t, o, Ticket(1, 1))[0]
	at := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	if err := a.Ack(ctx, r.TicketID, "值班员", at); err != nil {
		t.Fatal(err)
	}
	if err := a.Ack(ctx, "no/such/ticket", "x", at); !errors.Is(err, outbox.ErrUnknownTicket) {
		t.Fatalf("Ack of an unknown ticket: %v, want ErrUnknownTicket", err)
	}
	acks, err := a.Acks(ctx, r.TicketID)
	if err != nil || len(acks) != 1 || acks[0].By != "值班员" || !acks[0].At.Equal(at) {
		t.Fatalf("Acks = %+v, %v", acks, err)
	}
	if all, err := a.Acks(ctx, ""); err != nil || len(all) != 1 {
		t.Fatalf("Acks(\"\") = %+v, %v", all, err)
	}
}

// testOldestUnsentTicket: telemetry does not count for R25.
func testOldestUnsentTicket(t *testing.T, o outbox.Outbox) {
	tel := Telemetry(1)
	tel.CreatedAt = time.Now().Add(-time.Hour)
	MustAppend(t, o, tel)
	tk := Ticket(1, 2)
	tk.CreatedAt = time.Now().Add(-time.Minute)
	MustAppend(t, o, tk)
	st, err := o.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !st.OldestUnsent.Equal(tel.CreatedAt) || !st.OldestUnsentTicket.Equal(tk.CreatedAt) {
		t.Fatalf("OldestUnsent %v, OldestUnsentTicket %v; want %v and %v", st.OldestUnsent, st.OldestUnsentTicket, tel.CreatedAt, tk.CreatedAt)
	}
}
