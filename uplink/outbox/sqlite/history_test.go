package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/outboxtest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/sqlite"
)

func TestHistory(t *testing.T) {
	outboxtest.RunHistory(t, func(t *testing.T) outbox.Outbox {
		s := openT(t, filepath.Join(t.TempDir(), "outbox.db"))
		t.Cleanup(func() { closeT(t, s) })
		return s
	})
}

// GB/T 45839 5.3.3: at least 999 records kept and exportable in time
// order. 1000 delivered ticket records survive Prune (retention 999,
// none older than 30 days) and History returns all of them in order.
func TestHistoryKeeps999(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "outbox.db"))
	defer closeT(t, s)
	appendDelivered(t, s, 1000)
	ctx := context.Background()
	if _, err := s.Prune(ctx, time.Now(), outbox.DefaultRetention); err != nil {
		t.Fatal(err)
	}
	recs, err := s.History(ctx, outbox.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1000 {
		t.Fatalf("History after Prune: %d records, want 1000", len(recs))
	}
	for i := 1; i < len(recs); i++ {
		if outbox.CompareHistory(recs[i-1], recs[i]) >= 0 {
			t.Fatalf("records %d and %d out of time order", i-1, i)
		}
	}
}

// appendDelivered appends n delivered ticket records, one a second
// before now.
func appendDelivered(t testing.TB, s *sqlite.Store, n int) {
	t.Helper()
	start := time.Now().Add(-time.Duration(n) * time.Second)
	recs := make([]outbox.Record, n)
	for i := range recs {
		recs[i] = outboxtest.Ticket(i, 1+i%4)
		recs[i].CreatedAt = start.Add(time.Duration(i) * time.Second)
	}
	got := outboxtest.MustAppend(t, s, recs...)
	if err := s.MarkSent(context.Background(), time.Now(), outboxtest.Seqs(got)...); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkHistory999 reads the 999 newest records, as an export does.
func BenchmarkHistory999(b *testing.B) {
	s, err := sqlite.Open(filepath.Join(b.TempDir(), "outbox.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	appendDelivered(b, s, 1000)
	b.ResetTimer()
	for b.Loop() {
		if recs, err := s.History(context.Background(), outbox.HistoryQuery{Limit: 999}); err != nil || len(recs) != 999 {
			b.Fatalf("%d records, %v", len(recs), err)
		}
	}
}
