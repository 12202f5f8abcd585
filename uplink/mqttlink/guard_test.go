package mqttlink_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// markRefusing is a Memory whose MarkSent fails while refuse is set (the
// disk filled after the records were stored).
type markRefusing struct {
	*outbox.Memory
	refuse  atomic.Bool
	pending atomic.Int64 // Pending calls
}

func (m *markRefusing) Pending(ctx context.Context, max int) ([]outbox.Record, error) {
	m.pending.Add(1)
	return m.Memory.Pending(ctx, max)
}

func (m *markRefusing) MarkSent(ctx context.Context, at time.Time, seqs ...uint64) error {
	if m.refuse.Load() {
		return errors.New("database or disk is full")
	}
	return m.Memory.MarkSent(ctx, at, seqs...)
}

// TestMarkSentRefusedNoRepublishLoop (issue 15 item 5): when marking
// delivered fails, the drain must not publish the same events again and
// again. Five records are delivered while MarkSent fails; the link then
// reads the pending records five more times (its 20 ms poll), and a sixth
// record appended afterwards is delivered: by then nothing may have been
// published twice. (Before the guard: 50 messages in under a second.)
func TestMarkSentRefusedNoRepublishLoop(t *testing.T) {
	b := mqtttest.StartMosquitto(t)
	sub := mqtttest.Subscribe(t, b.URL(), topics.Tickets())
	store := &markRefusing{Memory: outbox.NewMemory()}
	store.refuse.Store(true)
	g, err := outbox.NewGuard(context.Background(), store, outbox.GuardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, g, 1, 5)
	l, _ := start(t, mqttlink.Options{Broker: b.URL(), Outbox: g, PollInterval: 20 * time.Millisecond})
	sub.WaitUntil("5 tickets", 15*time.Second, distinct(5))
	reads := store.pending.Load()
	waitUntil(t, "five more reads of the pending records", 15*time.Second, func() bool { return store.pending.Load() >= reads+5 })
	appendN(t, g, 6, 6)
	l.Notify()
	msgs := sub.WaitUntil("the sixth ticket", 15*time.Second, distinct(6))
	seqs := map[uint64]int{}
	for _, m := range msgs {
		tk, err := ticket.Parse(m.Payload)
		if err != nil {
			t.Fatal(err)
		}
		seqs[tk.Seq]++
	}
	for seq, n := range seqs {
		if n > 1 {
			t.Errorf("seq %d published %d times while MarkSent failed", seq, n)
		}
	}
	// The subscriber can see the sixth ticket before the link has its
	// PUBACK and tried to mark it: wait for the mark, bounded.
	waitUntil(t, "the sixth delivered seq waiting to be marked", 15*time.Second, func() bool { return g.GuardStats().Unmarked >= 6 })
	if gs := g.GuardStats(); gs.Unmarked != 6 || !gs.Failing() {
		t.Errorf("guard stats %+v, want 6 delivered seqs waiting to be marked", gs)
	}
	// The store accepts again: the marks land.
	store.refuse.Store(false)
	if err := g.Retry(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s, _ := store.Stats(context.Background()); s.Depth != 0 || s.Sent != 6 {
		t.Fatalf("store %+v, want all 6 marked sent", s)
	}
}

// TestNotDurableMarked: a record the guard keeps in memory is published at
// once, with "durable": false, and valid against the schema.
func TestNotDurableMarked(t *testing.T) {
	b := mqtttest.StartMosquitto(t)
	sub := mqtttest.Subscribe(t, b.URL(), topics.Tickets())
	store := &refusingAppend{Memory: outbox.NewMemory()}
	g, err := outbox.NewGuard(context.Background(), store, outbox.GuardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, g, 1, 1)
	store.refuse.Store(true)
	if _, err := g.Append(context.Background(), record(t, 2, 1)); !errors.Is(err, outbox.ErrNotDurable) {
		t.Fatalf("Append while refusing: %v", err)
	}
	start(t, mqttlink.Options{Broker: b.URL(), Outbox: g})
	msgs := sub.WaitUntil("2 tickets", 15*time.Second, distinct(2))
	v := mqtttest.NewValidator(t)
	for _, m := range msgs {
		v.ValidateTicket(t, m.Payload)
		var probe struct {
			Seq     uint64 `json:"seq"`
			Durable *bool  `json:"durable"`
		}
		if err := jsonUnmarshal(m.Payload, &probe); err != nil {
			t.Fatal(err)
		}
		switch probe.Seq {
		case 1:
			if probe.Durable != nil {
				t.Errorf("stored seq 1 carries durable: %v", *probe.Durable)
			}
		case 2:
			if probe.Durable == nil || *probe.Durable {
				t.Errorf("memory-only seq 2: durable %v, want false", probe.Durable)
			}
		}
	}
}

type refusingAppend struct {
	*outbox.Memory
	refuse atomic.Bool
}

func (r *refusingAppend) Append(ctx context.Context, recs ...outbox.Record) ([]outbox.Record, error) {
	if r.refuse.Load() {
		return nil, outbox.ErrFull
	}
	return r.Memory.Append(ctx, recs...)
}

func (r *refusingAppend) Restore(ctx context.Context, recs ...outbox.Record) error {
	if r.refuse.Load() {
		return outbox.ErrFull
	}
	return r.Memory.Restore(ctx, recs...)
}

func jsonUnmarshal(p []byte, v any) error { return json.Unmarshal(p, v) }
