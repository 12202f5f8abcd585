package mqttlink_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/sqlite"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// TestBoundedOutboxPublishesTombstones: a backlog over MaxSize while the
// broker is down is evicted (tombstones, counted); when the broker is back
// every seq arrives — the dropped ones as schema-valid state "dropped"
// tombstones — and the status reports the drops.
func TestBoundedOutboxPublishesTombstones(t *testing.T) {
	b := mqtttest.StartMosquitto(t)
	tickets := mqtttest.Subscribe(t, b.URL(), topics.Tickets()) // persistent sessions:
	status := mqtttest.Subscribe(t, b.URL(), topics.Status())   // kept across the restart
	b.Stop()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "outbox.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	const n = 30
	var recs []outbox.Record
	for i := 1; i <= n; i++ {
		r := record(t, i, 3)
		r.State = "clear" // closed episodes: may be dropped
		recs = append(recs, r)
	}
	recs = append(recs, record(t, n+1, 1)) // an open level-1 ticket: never dropped
	if _, err := st.Append(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
	size, err := st.Size(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	start(t, mqttlink.Options{Broker: b.URL(), Outbox: st, MaxSize: size / 2, MaintainEvery: 20 * time.Millisecond})
	waitUntil(t, "eviction", 10*time.Second, func() bool {
		s, err := st.Stats(context.Background())
		return err == nil && s.DroppedTickets > 0
	})
	b.Start()
	got := decode(t, tickets.WaitUntil("every seq", 20*time.Second, distinct(n+1)))
	dropped := 0
	seqs := map[uint64]bool{}
	for _, tk := range got {
		seqs[tk.Seq] = true
		if tk.State == ticket.StateDropped {
			dropped++
			if tk.Evidence != nil || tk.Level != 3 {
				t.Errorf("tombstone seq %d: evidence %v level %d", tk.Seq, tk.Evidence, tk.Level)
			}
		}
		if tk.Seq == n+1 && tk.State != "open" {
			t.Errorf("the open level-1 ticket was dropped")
		}
	}
	for q := uint64(1); q <= n+1; q++ {
		if !seqs[q] {
			t.Fatalf("seq %d never arrived", q)
		}
	}
	s, _ := st.Stats(context.Background())
	if dropped == 0 || uint64(dropped) != s.DroppedTickets {
		t.Fatalf("%d tombstones published, outbox counted %d drops", dropped, s.DroppedTickets)
	}
	msgs := status.WaitUntil("a status with the drops", 10*time.Second, func(m []mqtttest.Message) bool {
		for _, x := range m {
			if s, err := ticket.ParseStatus(x.Payload); err == nil && s.State == "online" && s.Dropped.Tickets == uint64(dropped) {
				return true
			}
		}
		return false
	})
	mqtttest.ValidateStatus(t, msgs[len(msgs)-1].Payload)
}

// TestLinkPrunesWithInjectedClock: the link prunes delivered records past
// retention (30 days and the last 999) on start and every PruneEvery, by
// its own clock (Options.Now), whether or not the broker is reachable.
func TestLinkPrunesWithInjectedClock(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "outbox.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var recs []outbox.Record
	for i := 1; i <= 1010; i++ {
		r := record(t, i%200+1, 3)
		r.TicketID, r.State, r.CreatedAt = fmt.Sprintf("t-%d", i), "clear", created
		recs = append(recs, r)
	}
	got, err := st.Append(ctx, recs...)
	if err != nil {
		t.Fatal(err)
	}
	seqs := make([]uint64, len(got))
	for i, r := range got {
		seqs[i] = r.Seq
	}
	if err := st.MarkSent(ctx, created, seqs...); err != nil {
		t.Fatal(err)
	}
	known := func(id string) bool { return !errors.Is(st.Ack(ctx, id, "probe", created), outbox.ErrUnknownTicket) }
	clock := &fakeClock{now: created.Add(29 * 24 * time.Hour)}
	start(t, mqttlink.Options{Broker: "tcp://127.0.0.1:1", Outbox: st, Now: clock.Now, PruneEvery: time.Hour, FaultAfter: time.Second})
	// (The 29-day case keeping everything is TestPruneKeepsThirtyDaysAndLast999
	// in outbox/sqlite.)
	clock.Add(2 * 24 * time.Hour) // 31 days: all but the newest 999 go
	waitUntil(t, "the prune at 31 days", 10*time.Second, func() bool { return !known("t-11") })
	if !known("t-12") || !known("t-1010") {
		t.Fatal("pruned one of the newest 999 delivered records")
	}
}
