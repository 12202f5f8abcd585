package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/outboxtest"
)

// TestRestoreDurable: restored records and the raised counter survive a
// reopen, so the seq continues after the restored ones.
func TestRestoreDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	s := openT(t, path)
	recs := restoreRecs(10)
	if err := s.Restore(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
	closeT(t, s)
	s = openT(t, path)
	defer closeT(t, s)
	if got := outboxtest.MustPending(t, s); len(got) != 10 || got[0].Seq != 1 || got[9].Seq != 10 {
		t.Fatalf("pending after reopen: %v", outboxtest.Seqs(got))
	}
	if r := outboxtest.MustAppend(t, s, outboxtest.Ticket(99, 2)); r[0].Seq != 11 {
		t.Fatalf("Append after Restore and reopen got seq %d, want 11", r[0].Seq)
	}
}

func restoreRecs(n int) []outbox.Record {
	at := time.Now()
	recs := make([]outbox.Record, n)
	for i := range recs {
		recs[i] = outboxtest.Ticket(i+1, 1)
		recs[i].Seq, recs[i].CreatedAt = uint64(i+1), at
	}
	return recs
}

// BenchmarkRestore1000: one Restore of 1000 ticket records (one
// transaction, one fsync).
func BenchmarkRestore1000(b *testing.B) {
	recs := restoreRecs(1000)
	for b.Loop() {
		b.StopTimer()
		s := openT(b, filepath.Join(b.TempDir(), "outbox.db"))
		b.StartTimer()
		if err := s.Restore(context.Background(), recs...); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		closeT(b, s)
		b.StartTimer()
	}
}
