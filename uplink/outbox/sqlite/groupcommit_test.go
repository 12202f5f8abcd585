package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/outboxtest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/sqlite"
)

// appended is what one successful Append returned.
type appended struct{ recs []outbox.Record }

// TestConcurrentAppendersThenReopen: many goroutines append batches of one
// to three records (tickets and telemetry mixed) at once. Every Append's
// ticket seqs are consecutive (one transaction, argument order), all ticket
// seqs together are exactly 1..N, and after close and reopen every record
// an Append returned is on disk with its seq, and numbering continues at
// N+1.
func TestConcurrentAppendersThenReopen(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "outbox.db")
			s, err := sqlite.Open(path, m.opts)
			if err != nil {
				t.Fatal(err)
			}
			const goroutines, each = 32, 20
			var mu sync.Mutex
			var got []appended
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					for i := range each {
						n := g*1000 + i*10
						recs := []outbox.Record{outboxtest.Ticket(n, 1+i%4)}
						if i%3 == 1 {
							recs = append(recs, outboxtest.Telemetry(n+1), outboxtest.Ticket(n+2, 2))
						}
						out, err := s.Append(context.Background(), recs...)
						if err != nil {
							t.Errorf("Append: %v", err)
							return
						}
						mu.Lock()
						got = append(got, appended{out})
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			closeT(t, s)

			var seqs []uint64
			want := map[uint64]string{} // seq → event id
			for _, a := range got {
				var prev uint64
				for _, r := range a.recs {
					want[r.Seq] = r.EventID
					if !r.IsTicket() {
						continue
					}
					if prev != 0 && r.Seq != prev+1 {
						t.Fatalf("one Append got ticket seqs %d then %d: not consecutive", prev, r.Seq)
					}
					prev = r.Seq
					seqs = append(seqs, r.Seq)
				}
			}
			slices.Sort(seqs)
			for i, q := range seqs {
				if q != uint64(i+1) {
					t.Fatalf("ticket seqs sorted: position %d has %d: a gap or a repeat", i, q)
				}
			}

			s = openT(t, path)
			defer closeT(t, s)
			onDisk := outboxtest.MustPending(t, s)
			if len(onDisk) != len(want) {
				t.Fatalf("%d records on disk after reopen, %d were acknowledged by Append", len(onDisk), len(want))
			}
			for _, r := range onDisk {
				if id, ok := want[r.Seq]; !ok || id != r.EventID {
					t.Fatalf("record seq %d event %q on disk; Append returned %q for it", r.Seq, r.EventID, id)
				}
			}
			next := outboxtest.MustAppend(t, s, outboxtest.Ticket(99999, 2))
			if next[0].Seq != uint64(len(seqs)+1) {
				t.Fatalf("seq after reopen = %d, want %d", next[0].Seq, len(seqs)+1)
			}
		})
	}
}

// TestCloseDrainsQueuedAppends: Close while appenders are busy. Every
// Append either returned its records, which are then on disk after reopen,
// or failed with outbox.ErrClosed and left nothing; the ticket seqs on
// disk are 1..N without a gap.
func TestCloseDrainsQueuedAppends(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "outbox.db")
			s, err := sqlite.Open(path, m.opts)
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			ok := map[string]uint64{} // event id → seq
			var refused int
			started := make(chan struct{})
			var once sync.Once
			var wg sync.WaitGroup
			for g := range 16 {
				wg.Go(func() {
					for i := 0; ; i++ {
						r := outboxtest.Ticket(g*10000+i, 2)
						out, err := s.Append(context.Background(), r)
						if i == 5 {
							once.Do(func() { close(started) })
						}
						mu.Lock()
						switch {
						case err == nil:
							ok[r.EventID] = out[0].Seq
						case errors.Is(err, outbox.ErrClosed):
							refused++
						default:
							t.Errorf("Append during Close: %v; want success or ErrClosed", err)
						}
						mu.Unlock()
						if err != nil {
							return
						}
					}
				})
			}
			<-started
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			wg.Wait()
			if refused != 16 {
				t.Fatalf("%d appenders saw ErrClosed, want all 16", refused)
			}

			s = openT(t, path)
			defer closeT(t, s)
			onDisk := outboxtest.MustPending(t, s)
			if len(onDisk) != len(ok) {
				t.Fatalf("%d records on disk, %d Appends succeeded", len(onDisk), len(ok))
			}
			for i, r := range onDisk {
				if r.Seq != uint64(i+1) || ok[r.EventID] != r.Seq {
					t.Fatalf("on disk #%d: seq %d event %s; Append returned seq %d for it", i, r.Seq, r.EventID, ok[r.EventID])
				}
			}
		})
	}
}

// BenchmarkAppend measures durable enqueues (one ticket per Append, each
// returning after its commit is on disk) from 1, 64 and 256 concurrent
// appenders, with and without group commit. events/s is the number to
// read; fsyncs are what group commit saves.
func BenchmarkAppend(b *testing.B) {
	for _, m := range modes {
		for _, par := range []int{1, 64, 256} {
			b.Run(fmt.Sprintf("%s/appenders=%d", m.name, par), func(b *testing.B) {
				s, err := sqlite.Open(filepath.Join(b.TempDir(), "outbox.db"), m.opts)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				rec := outboxtest.Ticket(1, 2)
				rec.Payload = make([]byte, 600) // about a ticket's size
				for i := range rec.Payload {
					rec.Payload[i] = 'x'
				}
				b.ResetTimer()
				var wg sync.WaitGroup
				per := b.N/par + 1
				for range par {
					wg.Go(func() {
						for range per {
							if _, err := s.Append(context.Background(), rec); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(per*par)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}
