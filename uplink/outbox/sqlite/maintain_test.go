package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/outboxtest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/sqlite"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

func tempStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s := openT(t, filepath.Join(t.TempDir(), "outbox.db"))
	t.Cleanup(func() { closeT(t, s) })
	return s
}

func TestAckRecordedAndUnknownRejected(t *testing.T) {
	ctx := context.Background()
	s := tempStore(t)
	r := outboxtest.MustAppend(t, s, outboxtest.Ticket(1, 1))[0]
	at := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	if err := s.Ack(ctx, r.TicketID, "织里镇值班员", at); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx, "no-such/ticket", "x", at); !errors.Is(err, outbox.ErrUnknownTicket) {
		t.Fatalf("unknown ticket: err %v, want ErrUnknownTicket", err)
	}
	acks, err := s.Acks(ctx, "")
	if err != nil || len(acks) != 1 || acks[0].By != "织里镇值班员" || !acks[0].At.Equal(at) || acks[0].TicketID != r.TicketID {
		t.Fatalf("acks %+v %v", acks, err)
	}
}

// TestPruneKeepsThirtyDaysAndLast999: delivered ticket records go only when
// both older than 30 days and beyond the newest 999; unsent ones never.
func TestPruneKeepsThirtyDaysAndLast999(t *testing.T) {
	ctx := context.Background()
	s := tempStore(t)
	now := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	old := now.Add(-31 * 24 * time.Hour)
	var recs []outbox.Record
	for i := 1; i <= 1100; i++ {
		r := outboxtest.Ticket(i, 3)
		r.State = "clear"
		r.CreatedAt = old
		if i > 1050 {
			r.CreatedAt = now.Add(-time.Hour) // recent
		}
		recs = append(recs, r)
	}
	got := outboxtest.MustAppend(t, s, recs...)
	var seqs []uint64
	for _, r := range got[:1090] { // the last 10 stay unsent
		seqs = append(seqs, r.Seq)
	}
	if err := s.MarkSent(ctx, now, seqs...); err != nil {
		t.Fatal(err)
	}
	tel := outboxtest.Telemetry(1)
	tel.CreatedAt = now.Add(-48 * time.Hour)
	sent := outboxtest.MustAppend(t, s, tel)
	if err := s.MarkSent(ctx, now, sent[0].Seq); err != nil {
		t.Fatal(err)
	}
	n, err := s.Prune(ctx, now, outbox.DefaultRetention)
	if err != nil {
		t.Fatal(err)
	}
	// 1090 delivered tickets: keep the newest 999 → seqs 92..1090; 1..91 are old.
	if n != 91+1 {
		t.Fatalf("pruned %d, want 91 tickets + 1 telemetry", n)
	}
	if err := s.Ack(ctx, "gw/dev-91/R1/x", "x", now); !errors.Is(err, outbox.ErrUnknownTicket) {
		t.Fatalf("seq 91 should be pruned: %v", err)
	}
	if err := s.Ack(ctx, "gw/dev-92/R1/x", "x", now); err != nil {
		t.Fatalf("seq 92 (one of the last 999) should be kept: %v", err)
	}
	// 30 days later nothing more: the newest 999 delivered are kept anyway.
	if n, err := s.Prune(ctx, now.Add(60*24*time.Hour), outbox.DefaultRetention); err != nil || n != 0 {
		t.Fatalf("second prune %d %v, want 0", n, err)
	}
	if st, _ := s.Stats(ctx); st.Depth != 10 {
		t.Fatalf("depth %d, want the 10 unsent kept", st.Depth)
	}
}

func payloadTicket(n, level int, state string) outbox.Record {
	tk := ticket.Ticket{Schema: ticket.Schema, EventID: fmt.Sprintf("ev-%d", n), TicketID: fmt.Sprintf("gw/dev-%d/R1/x", n),
		State: state, Hazard: "smoke_fire_alarm", Level: level, Kind: "alarm", Rule: "R1"}
	tk.Device.ID = fmt.Sprintf("dev-%d", n)
	p, _ := tk.Marshal()
	// padding makes each record about 2 KiB, so a few pages hold few records
	p = []byte(strings.Replace(string(p), `"rule":"R1"`, `"rule":"R1","suggestion_zh":"`+strings.Repeat("x", 2000)+`"`, 1))
	prio := outbox.PriorityTicket
	if level == 1 {
		prio = outbox.PriorityLevel1
	}
	return outbox.Record{EventID: tk.EventID, TicketID: tk.TicketID, State: state, Hazard: tk.Hazard, Rule: "R1",
		Device: tk.Device.ID, Level: level, Priority: prio, Payload: p}
}

// TestEvictOrder: over the limit, telemetry goes first, then delivered
// tickets, then unsent low-level tickets become tombstones; an open
// level-1 ticket is never touched and seq stays gap-free.
func TestEvictOrder(t *testing.T) {
	ctx := context.Background()
	s := tempStore(t)
	var recs []outbox.Record
	for i := 1; i <= 40; i++ {
		recs = append(recs, payloadTicket(i, 3, "clear"))
	}
	l1 := payloadTicket(41, 1, "open")
	recs = append(recs, l1)
	for i := 42; i <= 80; i++ {
		recs = append(recs, payloadTicket(i, 4, "clear"))
	}
	got := outboxtest.MustAppend(t, s, recs...)
	for i := 0; i < 20; i++ {
		tl := outboxtest.Telemetry(i)
		tl.Payload = []byte(`{"pad":"` + strings.Repeat("t", 2000) + `"}`)
		outboxtest.MustAppend(t, s, tl)
	}
	if err := s.MarkSent(ctx, time.Now(), got[0].Seq, got[1].Seq); err != nil { // two delivered
		t.Fatal(err)
	}
	size, err := s.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	limit := size * 6 / 10
	ev, err := s.Evict(ctx, limit)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("evicted %+v (limit %d)", ev, limit)
	if ev.Telemetry != 20 || ev.DroppedTelemetry != 20 || ev.DeliveredTickets != 2 || ev.Tombstoned == 0 || ev.SizeAfter > limit {
		t.Fatalf("evicted %+v, want all 20 telemetry, 2 delivered, some tombstones, size ≤ %d", ev, limit)
	}
	pending := outboxtest.MustPending(t, s)
	if pending[0].Seq != l1.Seq && pending[0].Seq != 41 || pending[0].State != "open" {
		t.Fatalf("first pending %+v, want the open level-1 seq 41 intact", pending[0])
	}
	// seq 3..80 all still pending (gap-free), tombstones first among level 4, then 3.
	seen := map[uint64]bool{}
	tomb := map[int]int{}
	for _, r := range pending {
		seen[r.Seq] = true
		if r.State == "dropped" {
			tomb[r.Level]++
			tk, err := ticket.Parse(r.Payload)
			if err != nil || tk.State != "dropped" || tk.EventID != r.EventID || tk.TicketID != r.TicketID || tk.Device.ID != r.Device || tk.Evidence != nil || tk.SuggestionZh != "" {
				t.Fatalf("tombstone seq %d: %s (%v)", r.Seq, r.Payload, err)
			}
		}
	}
	for q := uint64(3); q <= 80; q++ {
		if !seen[q] {
			t.Fatalf("seq %d missing after eviction: a gap", q)
		}
	}
	if tomb[4] == 0 || (tomb[3] > 0 && tomb[4] != 39) {
		t.Fatalf("tombstones by level %v: level 4 must go before level 3", tomb)
	}
	st, _ := s.Stats(ctx)
	if st.DroppedTickets != uint64(ev.Tombstoned) || st.DroppedTelemetry != 20 {
		t.Fatalf("stats %+v, want dropped %d tickets, 20 telemetry", st, ev.Tombstoned)
	}
	// A limit nothing can satisfy: the open level-1 ticket still stays.
	if _, err := s.Evict(ctx, 1); err != nil {
		t.Fatal(err)
	}
	pending = outboxtest.MustPending(t, s)
	if pending[0].Seq != 41 || pending[0].State != "open" {
		t.Fatalf("after Evict(1): first pending %+v, want the open level-1 ticket kept", pending[0])
	}
	if len(pending) != 78 {
		t.Fatalf("after Evict(1): %d pending, want all 78 seqs kept as tombstones", len(pending))
	}
}
