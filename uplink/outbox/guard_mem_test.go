package outbox_test

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// TestGuardMemoryAtBound fills the memory queue of a storage fault far past
// its default bounds with ~1.2 KiB tickets and reports the heap it holds:
// the bound must hold (NotDurableBytes ≤ MaxBytes) and the heap stay near
// it. go test -run TestGuardMemoryAtBound -v prints the figures.
func TestGuardMemoryAtBound(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 8 MiB")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	g, st := newGuard(t, outbox.GuardOptions{})
	st.refuse.Store(true)
	ctx := context.Background()
	one := len(ticketRec(t, 0, 2, "open").Payload) + 256
	for i := range 2 * outbox.DefaultGuardMaxBytes / one {
		level := 2 + i%3
		if _, err := g.Append(ctx, ticketRec(t, i, level, "open")); !errors.Is(err, outbox.ErrNotDurable) {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	gs := g.GuardStats()
	if gs.NotDurableBytes > outbox.DefaultGuardMaxBytes || gs.NotDurable > outbox.DefaultGuardMaxRecords {
		t.Fatalf("over the bound: %+v", gs)
	}
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("at the bound: %d records, %d bytes counted, heap +%.1f MiB; shed: %d tombstoned, %d lost",
		gs.NotDurable, gs.NotDurableBytes, float64(heap)/(1<<20), gs.ShedTickets, gs.Lost)
	if heap > 3*outbox.DefaultGuardMaxBytes {
		t.Errorf("heap grew %d bytes for a queue bounded at %d", heap, outbox.DefaultGuardMaxBytes)
	}
}
