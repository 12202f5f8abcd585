package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/outboxtest"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// refusing is a Memory whose writes fail while refuse is set (a full disk:
// reads work, Append, Restore and MarkSent fail).
type refusing struct {
	*outbox.Memory
	refuse   atomic.Bool
	refuseMk atomic.Bool // MarkSent only
	reserved atomic.Uint64
}

// ReserveSeq is the SQLite store's state file: it works on a full disk.
func (r *refusing) ReserveSeq(seq uint64) error {
	r.reserved.Store(max(r.reserved.Load(), seq))
	return nil
}

var errDiskFull = fmt.Errorf("database or disk is full: %w", outbox.ErrFull)

func (r *refusing) Append(ctx context.Context, recs ...outbox.Record) ([]outbox.Record, error) {
	if r.refuse.Load() {
		return nil, errDiskFull
	}
	return r.Memory.Append(ctx, recs...)
}

func (r *refusing) Restore(ctx context.Context, recs ...outbox.Record) error {
	if r.refuse.Load() {
		return errDiskFull
	}
	return r.Memory.Restore(ctx, recs...)
}

func (r *refusing) MarkSent(ctx context.Context, at time.Time, seqs ...uint64) error {
	if r.refuse.Load() || r.refuseMk.Load() {
		return errDiskFull
	}
	return r.Memory.MarkSent(ctx, at, seqs...)
}

func newGuard(t *testing.T, opts outbox.GuardOptions) (*outbox.Guard, *refusing) {
	t.Helper()
	st := &refusing{Memory: outbox.NewMemory()}
	g, err := outbox.NewGuard(context.Background(), st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return g, st
}

// ticketRec is a record with a real ticket payload (so a tombstone keeps
// its fields).
func ticketRec(t testing.TB, n, level int, state string) outbox.Record {
	t.Helper()
	prio := outbox.PriorityTicket
	if level == 1 {
		prio = outbox.PriorityLevel1
	}
	tk := ticket.Ticket{Schema: ticket.Schema, EventID: fmt.Sprintf("ev-%04d-xxxxxxxx", n), TicketID: fmt.Sprintf("gw/dev-%d/R1/x", n),
		State: state, Hazard: "smoke_fire_alarm", Level: level, Rule: "R1", SuggestionZh: strings.Repeat("请立即到现场确认", 40)}
	tk.Device.ID = fmt.Sprintf("dev-%d", n)
	p, err := tk.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return outbox.Record{EventID: tk.EventID, TicketID: tk.TicketID, State: state, Hazard: tk.Hazard, Rule: "R1",
		Device: tk.Device.ID, Level: level, Priority: prio, Payload: p}
}

func TestMemoryRestore(t *testing.T) {
	m := outbox.NewMemory()
	ctx := context.Background()
	outboxtest.MustAppend(t, m, outboxtest.Ticket(1, 3))
	r := outboxtest.Ticket(2, 1)
	r.Seq, r.CreatedAt = 5, time.Now()
	sent := outboxtest.Ticket(3, 2)
	sent.Seq, sent.CreatedAt, sent.SentAt = 4, time.Now(), time.Now()
	for range 2 { // idempotent
		if err := m.Restore(ctx, r, sent); err != nil {
			t.Fatal(err)
		}
	}
	if got := outboxtest.Seqs(outboxtest.MustPending(t, m)); !slices.Equal(got, []uint64{5, 1}) {
		t.Fatalf("pending %v, want [5 1]", got)
	}
	out := outboxtest.MustAppend(t, m, outboxtest.Ticket(4, 3))
	if out[0].Seq != 6 {
		t.Fatalf("append after restore got seq %d, want 6", out[0].Seq)
	}
	bad := outboxtest.Ticket(9, 1)
	if err := m.Restore(ctx, bad); err == nil {
		t.Fatal("Restore of a ticket without a seq: no error")
	}
}

// TestGuardSeqContinuity: while the store refuses, the guard continues
// the store's seq; once it accepts, the memory records are restored with
// their seqs and the store continues after them: gap-free, never repeated.
func TestGuardSeqContinuity(t *testing.T) {
	g, st := newGuard(t, outbox.GuardOptions{})
	ctx := context.Background()
	outboxtest.MustAppend(t, g, outboxtest.Ticket(1, 3), outboxtest.Ticket(2, 3))
	st.refuse.Store(true)
	out, err := g.Append(ctx, outboxtest.Ticket(3, 1), outboxtest.Ticket(4, 2))
	if !errors.Is(err, outbox.ErrNotDurable) || !errors.Is(err, outbox.ErrFull) {
		t.Fatalf("Append while refusing: %v, want ErrNotDurable wrapping ErrFull", err)
	}
	if len(out) != 2 || out[0].Seq != 3 || out[1].Seq != 4 || !out[0].NotDurable {
		t.Fatalf("Append while refusing returned %+v", out)
	}
	if got := st.reserved.Load(); got != 4 {
		t.Errorf("seqs reserved outside the database up to %d, want 4 (a crash must not reuse them)", got)
	}
	// Pending: the level-1 memory record first, then the others by seq.
	if got := outboxtest.Seqs(outboxtest.MustPending(t, g)); !slices.Equal(got, []uint64{3, 1, 2, 4}) {
		t.Fatalf("pending %v, want [3 1 2 4]", got)
	}
	gs := g.GuardStats()
	if !gs.Failing() || gs.NotDurable != 2 || gs.LastError == "" {
		t.Fatalf("guard stats %+v, want failing with 2 not durable", gs)
	}
	if s, _ := g.Stats(ctx); s.Depth != 4 || s.LastSeq != 4 {
		t.Fatalf("stats %+v, want depth 4 last seq 4", s)
	}
	// Delivered while still in memory: restored as sent.
	if err := g.MarkSent(ctx, time.Now(), 3); err != nil {
		t.Fatal(err)
	}
	if err := g.Retry(ctx); !errors.Is(err, outbox.ErrNotDurable) {
		t.Fatalf("Retry while refusing: %v", err)
	}
	st.refuse.Store(false)
	out, err = g.Append(ctx, outboxtest.Ticket(5, 3))
	if err != nil || out[0].Seq != 5 {
		t.Fatalf("Append after recovery: %+v, %v; want seq 5", out, err)
	}
	if gs := g.GuardStats(); gs.Failing() || gs.NotDurable != 0 {
		t.Fatalf("guard stats after recovery %+v", gs)
	}
	if got := outboxtest.Seqs(outboxtest.MustPending(t, st.Memory)); !slices.Equal(got, []uint64{1, 2, 4, 5}) {
		t.Fatalf("store pending %v, want [1 2 4 5] (3 restored as sent)", got)
	}
	if err := g.Retry(ctx); err != nil {
		t.Fatalf("Retry after recovery: %v", err)
	}
	// Idempotent: restoring the same records again changes nothing.
	if err := g.Restore(ctx, out...); err != nil {
		t.Fatal(err)
	}
	if got := outboxtest.Seqs(outboxtest.MustPending(t, st.Memory)); !slices.Equal(got, []uint64{1, 2, 4, 5}) {
		t.Fatalf("store pending after a second restore %v", got)
	}
}

// TestGuardMarkSentRefused: a MarkSent the store refuses is remembered, so
// Pending no longer returns the delivered records (no republish loop), and
// it is applied once the store accepts.
func TestGuardMarkSentRefused(t *testing.T) {
	g, st := newGuard(t, outbox.GuardOptions{})
	ctx := context.Background()
	recs := outboxtest.MustAppend(t, g, outboxtest.Ticket(1, 3), outboxtest.Ticket(2, 3))
	st.refuseMk.Store(true)
	if err := g.MarkSent(ctx, time.Now(), recs[0].Seq); err != nil {
		t.Fatalf("MarkSent refused by the store: %v, want it remembered", err)
	}
	if got := outboxtest.Seqs(outboxtest.MustPending(t, g)); !slices.Equal(got, []uint64{2}) {
		t.Fatalf("pending %v, want [2]", got)
	}
	if s, _ := g.Stats(ctx); s.Depth != 1 {
		t.Fatalf("depth %d, want 1", s.Depth)
	}
	if g.Retry(ctx) == nil {
		t.Fatal("Retry succeeded while MarkSent is refused")
	}
	st.refuseMk.Store(false)
	if err := g.Retry(ctx); err != nil {
		t.Fatal(err)
	}
	if got := outboxtest.Seqs(outboxtest.MustPending(t, st.Memory)); !slices.Equal(got, []uint64{2}) {
		t.Fatalf("store pending %v, want [2]", got)
	}
	if gs := g.GuardStats(); gs.Failing() || gs.Unmarked != 0 {
		t.Fatalf("guard stats %+v", gs)
	}
}

// TestGuardShedOrder: over its bound the memory queue sheds telemetry,
// then delivered tickets, then tombstones cleared and low-level events;
// an open level-1 event is never shed.
func TestGuardShedOrder(t *testing.T) {
	one := int64(len(ticketRec(t, 0, 4, "open").Payload)) + 256
	// 5 tickets and the telemetry fit; a sixth sheds to 90 % (5.22).
	g, st := newGuard(t, outbox.GuardOptions{MaxBytes: one * 58 / 10, MaxRecords: 100})
	ctx := context.Background()
	st.refuse.Store(true)
	appendNotDurable := func(recs ...outbox.Record) []outbox.Record {
		t.Helper()
		out, err := g.Append(ctx, recs...)
		if !errors.Is(err, outbox.ErrNotDurable) {
			t.Fatalf("Append: %v", err)
		}
		return out
	}
	fire := appendNotDurable(ticketRec(t, 1, 1, "open"))[0]
	tel := appendNotDurable(outboxtest.Telemetry(1))[0]
	delivered := appendNotDurable(ticketRec(t, 2, 3, "open"))[0]
	if err := g.MarkSent(ctx, time.Now(), delivered.Seq); err != nil {
		t.Fatal(err)
	}
	l2 := appendNotDurable(ticketRec(t, 3, 2, "open"))[0]
	l4 := appendNotDurable(ticketRec(t, 4, 4, "open"))[0]
	clr := ticketRec(t, 5, 3, "clear")
	clr.TicketID = l2.TicketID // the level-2 episode cleared: shed before the level 4
	clrRec := appendNotDurable(clr)[0]
	if gs := g.GuardStats(); gs.ShedTelemetry+gs.ShedTickets+gs.ShedDelivered+gs.Lost != 0 {
		t.Fatalf("shed within the bound: %+v", gs)
	}
	// Over the bound: telemetry goes first, then the delivered ticket.
	appendNotDurable(ticketRec(t, 6, 1, "open"))
	gs := g.GuardStats()
	if gs.ShedTelemetry != 1 || gs.ShedDelivered != 1 || gs.ShedTickets != 0 {
		t.Fatalf("after the first overflow: %+v, want telemetry and the delivered ticket shed", gs)
	}
	// Then tombstones: the cleared episode's events (l2 and its clear)
	// before the open level-4 one.
	appendNotDurable(ticketRec(t, 7, 1, "open"), ticketRec(t, 8, 1, "open"))
	pend := outboxtest.MustPending(t, g)
	state := map[uint64]string{}
	for _, r := range pend {
		state[r.Seq] = r.State
	}
	rank := map[string]int{"open": 0, "clear": 0, "dropped": 1, "": 2} // "": shed entirely
	if rank[state[l2.Seq]] == 0 || rank[state[clrRec.Seq]] == 0 || rank[state[l4.Seq]] > rank[state[l2.Seq]] || rank[state[l4.Seq]] > rank[state[clrRec.Seq]] {
		t.Fatalf("states %v: want seq %d and %d (cleared episode) shed before %d (level 4)", state, l2.Seq, clrRec.Seq, l4.Seq)
	}
	if state[fire.Seq] != "open" {
		t.Fatalf("the open level-1 event was shed: %v", state)
	}
	for _, r := range pend {
		if r.State != "dropped" {
			continue
		}
		tomb, err := ticket.Parse(r.Payload)
		if err != nil || tomb.State != "dropped" || tomb.EventID != r.EventID || tomb.SuggestionZh != "" || tomb.Hazard != r.Hazard {
			t.Fatalf("tombstone of seq %d: %+v, %v", r.Seq, tomb, err)
		}
	}
	// Flood with level-1 opens: everything else goes, the fires stay even
	// over the bound.
	for i := range 10 {
		appendNotDurable(ticketRec(t, 10+i, 1, "open"))
	}
	gs = g.GuardStats()
	if gs.Lost == 0 {
		t.Fatalf("no loss counted after the flood: %+v", gs)
	}
	for _, r := range outboxtest.MustPending(t, g) {
		if r.Level != 1 {
			t.Errorf("seq %d level %d survived a flood of fires", r.Seq, r.Level)
		}
	}
	if n := len(outboxtest.MustPending(t, g)); n != 14 {
		t.Errorf("%d records pending, want the 14 level-1 opens", n)
	}
	_ = tel
	// The store accepts again: every kept record is stored with its seq.
	st.refuse.Store(false)
	if err := g.Retry(ctx); err != nil {
		t.Fatal(err)
	}
	if s, _ := st.Stats(ctx); s.Depth != 14 || s.LastSeq != 18 {
		t.Fatalf("store stats %+v, want 14 pending, last seq 18", s)
	}
}

// TestGuardCountBound: the record bound holds with small payloads too.
func TestGuardCountBound(t *testing.T) {
	g, st := newGuard(t, outbox.GuardOptions{MaxRecords: 50})
	st.refuse.Store(true)
	for i := range 200 {
		if _, err := g.Append(context.Background(), outboxtest.Ticket(i, 3)); !errors.Is(err, outbox.ErrNotDurable) {
			t.Fatal(err)
		}
	}
	gs := g.GuardStats()
	if gs.NotDurable != 50 || gs.Lost != 150 {
		t.Fatalf("guard stats %+v, want 50 kept, 150 lost", gs)
	}
	if s, _ := g.Stats(context.Background()); s.LastSeq != 200 || s.DroppedTickets != 150 {
		t.Fatalf("stats %+v, want last seq 200 and 150 dropped", s)
	}
}

// TestGuardConcurrent: appends, drains and refusals interleaved keep every
// seq once (run with -race).
func TestGuardConcurrent(t *testing.T) {
	g, st := newGuard(t, outbox.GuardOptions{})
	ctx := context.Background()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 400 {
			st.refuse.Store(i%50 < 20)
			if _, err := g.Append(ctx, outboxtest.Ticket(i, 1+i%4)); err != nil && !errors.Is(err, outbox.ErrNotDurable) {
				t.Error(err)
				return
			}
		}
		st.refuse.Store(false)
	}()
	sent := map[uint64]int{}
	drain := func() {
		recs, err := g.Pending(ctx, 16)
		if err != nil {
			t.Error(err)
			return
		}
		var seqs []uint64
		for _, r := range recs {
			sent[r.Seq]++
			seqs = append(seqs, r.Seq)
		}
		if err := g.MarkSent(ctx, time.Now(), seqs...); err != nil {
			t.Error(err)
		}
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			drain()
		}
	}
	for {
		if err := g.Retry(ctx); err != nil {
			t.Fatal(err)
		}
		if recs, _ := g.Pending(ctx, 0); len(recs) == 0 {
			break
		}
		drain()
	}
	s, _ := st.Stats(ctx)
	if s.LastSeq != 400 || s.Depth != 0 || len(sent) != 400 {
		t.Fatalf("store %+v, %d distinct seqs published; want 400 stored and delivered", s, len(sent))
	}
	for seq, n := range sent {
		if n > 1 {
			t.Errorf("seq %d published %d times", seq, n)
		}
	}
}
