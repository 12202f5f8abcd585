package engine

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// refusingStore is the memory outbox whose writes fail while refuse is
// set (a full disk: reads work, Append and Restore fail).
type refusingStore struct {
	memStore
	refuse atomic.Bool
}

var errDiskFull = errors.New("database or disk is full")

func (r *refusingStore) Append(ctx context.Context, recs ...outbox.Record) ([]outbox.Record, error) {
	if r.refuse.Load() {
		return nil, errDiskFull
	}
	return r.Memory.Append(ctx, recs...)
}

func (r *refusingStore) Restore(ctx context.Context, recs ...outbox.Record) error {
	if r.refuse.Load() {
		return errDiskFull
	}
	return r.Memory.Restore(ctx, recs...)
}

// TestStorageFaultOpensR29AfterGrace runs the rule loop on the bubble's
// fake clock over a store that refuses writes: the refused record is
// kept in memory at once, R29 (存储故障) is not raised within
// storageFaultAfter, is raised after it, and once the store takes writes
// again the loop stores what it kept and R29 clears.
func TestStorageFaultOpensR29AfterGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var r29 []string // states of the R29 records committed, in order
		st := &refusingStore{memStore: memStore{outbox.NewMemory()}}
		l := newTestLoop(t, t.TempDir(), st, Options{OnCommitted: func(recs []outbox.Record) {
			mu.Lock()
			defer mu.Unlock()
			for _, r := range recs {
				if r.Rule == rules.StorageRule {
					r29 = append(r29, r.State)
				}
			}
		}})
		seen := func() []string {
			mu.Lock()
			defer mu.Unlock()
			return append([]string(nil), r29...)
		}
		polls, busesDone, done := make(chan rules.Poll), make(chan struct{}), make(chan struct{})
		go func() { l.Run(context.Background(), polls, busesDone); close(done) }()
		stop := sync.OnceFunc(func() { close(busesDone); <-done })
		defer stop()                       // a failed check stops the loop too
		advance := func(d time.Duration) { // the bubble's clock jumps once every goroutine waits
			<-time.After(d)
			synctest.Wait()
		}

		st.refuse.Store(true)
		rec := outbox.Record{EventID: "t1", Priority: outbox.PriorityTelemetry, Payload: []byte(`{}`), CreatedAt: time.Now()}
		if _, err := l.Append(t.Context(), rec); err != nil {
			t.Fatalf("a refused write is kept in memory, not an error: %v", err)
		}
		if !l.StorageFault(time.Now()) || l.guard.GuardStats().NotDurable != 1 {
			t.Fatalf("storage fault %v, %d kept in memory; want a fault at once and 1 kept", l.StorageFault(time.Now()), l.guard.GuardStats().NotDurable)
		}
		advance(storageFaultAfter - 500*time.Millisecond)
		if got := seen(); len(got) != 0 {
			t.Fatalf("R29 within %s of the first refusal: %v", storageFaultAfter, got)
		}
		advance(2 * time.Second)
		if got := seen(); len(got) != 1 || got[0] != "open" {
			t.Fatalf("R29 after %s of refusals: %v, want one open", storageFaultAfter+1500*time.Millisecond, got)
		}

		st.refuse.Store(false)
		advance(time.Minute)
		if gs := l.guard.GuardStats(); gs.NotDurable != 0 || l.StorageFault(time.Now()) {
			t.Fatalf("store writable again: %d still only in memory, fault %v", gs.NotDurable, l.StorageFault(time.Now()))
		}
		if got := seen(); len(got) != 2 || got[1] != "clear" {
			t.Fatalf("R29 records %v, want open then clear", got)
		}
		stop()
	})
}
