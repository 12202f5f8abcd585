package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/outboxtest"
)

func TestGuardUplinksConformance(t *testing.T) {
	outboxtest.RunUplinks(t, func(t *testing.T, uplinks ...string) outbox.Outbox {
		m, err := outbox.NewMemoryUplinks(uplinks...)
		if err != nil {
			t.Fatal(err)
		}
		g, err := outbox.NewGuard(context.Background(), m, outbox.GuardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return g
	})
}

// refusingUplinks is a [refusing] store whose uplink views refuse too.
type refusingUplinks struct{ *refusing }

func (r refusingUplinks) Uplink(name string) (outbox.Outbox, error) {
	v, err := r.Memory.Uplink(name)
	return refusingView{v, r.refusing}, err
}

type refusingView struct {
	outbox.Outbox
	r *refusing
}

func (v refusingView) MarkSent(ctx context.Context, at time.Time, seqs ...uint64) error {
	if v.r.refuse.Load() || v.r.refuseMk.Load() {
		return errDiskFull
	}
	return v.Outbox.MarkSent(ctx, at, seqs...)
}

func pendingOf(t *testing.T, o outbox.Outbox) string {
	t.Helper()
	return fmt.Sprint(outboxtest.Seqs(outboxtest.MustPending(t, o)))
}

// TestGuardUplinksStorageFault: during a storage fault each uplink keeps
// its own deliveries (in memory, or refused marks of stored records);
// once the store accepts writes again each cursor in the store holds
// exactly what that uplink has not delivered.
func TestGuardUplinksStorageFault(t *testing.T) {
	ctx := context.Background()
	m, err := outbox.NewMemoryUplinks("mqtt", "gb26875")
	if err != nil {
		t.Fatal(err)
	}
	st := refusingUplinks{&refusing{Memory: m}}
	g, err := outbox.NewGuard(ctx, st, outbox.GuardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := outboxtest.MustUplink(t, g, "mqtt"), outboxtest.MustUplink(t, g, "gb26875")
	outboxtest.MustAppend(t, g, outboxtest.Ticket(1, 2))
	st.refuse.Store(true)
	if _, err := g.Append(ctx, outboxtest.Ticket(2, 2), outboxtest.Ticket(3, 2)); !errors.Is(err, outbox.ErrNotDurable) {
		t.Fatalf("Append during the fault = %v, want ErrNotDurable", err)
	}
	for _, v := range []outbox.Outbox{a, b} {
		if got := pendingOf(t, v); got != "[1 2 3]" {
			t.Fatalf("pending during the fault = %s, want [1 2 3] for each uplink", got)
		}
	}
	mark(t, a, 1, 2) // 1: stored, mark refused; 2: in memory
	mark(t, b, 3)
	if pa, pb := pendingOf(t, a), pendingOf(t, b); pa != "[3]" || pb != "[1 2]" {
		t.Fatalf("pending after marks: mqtt %s gb26875 %s; want [3] and [1 2]", pa, pb)
	}
	if sa, err := a.Stats(ctx); err != nil || sa.Depth != 1 {
		t.Fatalf("mqtt Stats = %+v, %v; want depth 1", sa, err)
	}
	st.refuse.Store(false)
	if err := g.Retry(ctx); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	ma, mb := outboxtest.MustUplink(t, m, "mqtt"), outboxtest.MustUplink(t, m, "gb26875")
	if pa, pb := pendingOf(t, ma), pendingOf(t, mb); pa != "[3]" || pb != "[1 2]" {
		t.Fatalf("store cursors after the fault: mqtt %s gb26875 %s; want [3] and [1 2]", pa, pb)
	}
	if pa, pb := pendingOf(t, a), pendingOf(t, b); pa != "[3]" || pb != "[1 2]" {
		t.Fatalf("pending after the fault: mqtt %s gb26875 %s; want [3] and [1 2]", pa, pb)
	}
	mark(t, a, 3)
	mark(t, b, 1, 2)
	if s, err := m.Stats(ctx); err != nil || s.Depth != 0 || s.Sent != 3 {
		t.Fatalf("store Stats = %+v, %v; want every record delivered by both", s, err)
	}
	if gs := g.GuardStats(); gs.Failing() || gs.Unmarked != 0 {
		t.Fatalf("guard still failing after recovery: %+v", gs)
	}
}

func mark(t *testing.T, o outbox.Outbox, seqs ...uint64) {
	t.Helper()
	if err := o.MarkSent(context.Background(), time.Now(), seqs...); err != nil {
		t.Fatalf("MarkSent(%v): %v", seqs, err)
	}
}

// TestGuardUplinksShedWithOneBehind: a memory record one uplink delivered
// and the other did not is not shed as delivered: it becomes a tombstone
// that only the uplink lacking it publishes.
func TestGuardUplinksShedWithOneBehind(t *testing.T) {
	ctx := context.Background()
	m, err := outbox.NewMemoryUplinks("mqtt", "gb26875")
	if err != nil {
		t.Fatal(err)
	}
	st := refusingUplinks{&refusing{Memory: m}}
	one := int64(len(ticketRec(t, 0, 4, "open").Payload)) + 256
	g, err := outbox.NewGuard(ctx, st, outbox.GuardOptions{MaxBytes: one * 58 / 10, MaxRecords: 100})
	if err != nil {
		t.Fatal(err)
	}
	a, b := outboxtest.MustUplink(t, g, "mqtt"), outboxtest.MustUplink(t, g, "gb26875")
	st.refuse.Store(true)
	var seqs []uint64
	for i := range 5 {
		out, err := g.Append(ctx, ticketRec(t, i, 3, "open"))
		if !errors.Is(err, outbox.ErrNotDurable) {
			t.Fatalf("Append: %v", err)
		}
		seqs = append(seqs, out[0].Seq)
	}
	mark(t, a, seqs...) // mqtt has them all; gb26875 is down
	for i := range 3 {  // over the bound
		if _, err := g.Append(ctx, ticketRec(t, 10+i, 3, "open")); !errors.Is(err, outbox.ErrNotDurable) {
			t.Fatalf("Append: %v", err)
		}
	}
	gs := g.GuardStats()
	if gs.ShedDelivered != 0 || gs.ShedTickets == 0 {
		t.Fatalf("shed %+v: want tombstones, none dropped as delivered (gb26875 lacks them)", gs)
	}
	for _, r := range outboxtest.MustPending(t, a) {
		if slices.Contains(seqs, r.Seq) {
			t.Fatalf("mqtt delivered seq %d; it must not get it again (state %s)", r.Seq, r.State)
		}
	}
	tombs := 0
	for _, r := range outboxtest.MustPending(t, b) {
		if r.State == "dropped" && slices.Contains(seqs, r.Seq) {
			tombs++
		}
	}
	if tombs == 0 {
		t.Fatal("gb26875 lacks the shed records; it must publish their tombstones")
	}
}
