package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/outboxtest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/sqlite"
)

// fileBytes is the size of the database and its WAL on disk.
func fileBytes(t testing.TB, path string) (db, wal int64) {
	t.Helper()
	if fi, err := os.Stat(path); err == nil {
		db = fi.Size()
	}
	if fi, err := os.Stat(path + "-wal"); err == nil {
		wal = fi.Size()
	}
	return db, wal
}

// TestAckFloodBounded: issue 15 item 6. A flood of acks with a 10 KB `by`
// on one ticket keeps only the newest AcksPerTicket, each `by` cut to
// MaxAckBy, so the outbox stays within a 1 MiB max_size and the file does
// not grow with the flood. FENGHUO_ACK_FLOOD sets the number of acks
// (default 3000; the report's figure is 100 000).
func TestAckFloodBounded(t *testing.T) {
	n := 3000
	if v := os.Getenv("FENGHUO_ACK_FLOOD"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	const maxSize = 1 << 20
	path := filepath.Join(t.TempDir(), "outbox.db")
	s := openT(t, path)
	defer closeT(t, s)
	ctx := context.Background()
	r := outboxtest.MustAppend(t, s, outboxtest.Ticket(1, 1))[0]
	by := strings.Repeat("值", 10_000/3)
	at := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	start := time.Now()
	var peakDB, peakWAL int64
	for i := range n {
		if err := s.Ack(ctx, r.TicketID, by, at.Add(time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if i%1000 == 999 {
			if _, err := s.Evict(ctx, maxSize); err != nil {
				t.Fatal(err)
			}
			db, wal := fileBytes(t, path)
			peakDB, peakWAL = max(peakDB, db), max(peakWAL, wal)
		}
	}
	elapsed := time.Since(start)
	acks, err := s.Acks(ctx, r.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	if len(acks) != sqlite.AcksPerTicket {
		t.Fatalf("%d acks kept after a flood of %d, want the newest %d", len(acks), n, sqlite.AcksPerTicket)
	}
	last := acks[len(acks)-1]
	if !last.At.Equal(at.Add(time.Duration(n-1)*time.Millisecond)) || len(last.By) > sqlite.MaxAckBy || !strings.HasSuffix(last.By, "…") {
		t.Fatalf("newest ack kept: at %v, by %d bytes %q", last.At, len(last.By), last.By)
	}
	size, err := s.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db, wal := fileBytes(t, path)
	t.Logf("%d acks of 10 KB in %v: Size %d B, database %d B (peak %d), WAL %d B (peak %d)", n, elapsed.Round(time.Millisecond), size, db, peakDB, wal, peakWAL)
	if size > maxSize || db > maxSize || peakWAL > 2*maxSize {
		t.Fatalf("after %d acks: Size %d B, database file %d B, WAL up to %d B; want the first two within max_size %d, the WAL within twice that", n, size, db, peakWAL, maxSize)
	}
}

// TestAcksCountInSizeAndGoWithTheirTicket: acks count in Size, and Prune
// deletes the acks of a ticket whose records were all pruned.
func TestAcksCountInSizeAndGoWithTheirTicket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	s := openT(t, path)
	defer closeT(t, s)
	ctx := context.Background()
	old := outboxtest.Ticket(1, 2)
	old.State, old.CreatedAt = "clear", time.Now().Add(-60*24*time.Hour)
	recs := outboxtest.MustAppend(t, s, old, outboxtest.Ticket(2, 2))
	if err := s.MarkSent(ctx, time.Now(), recs[0].Seq, recs[1].Seq); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Size(ctx)
	for _, r := range recs {
		if err := s.Ack(ctx, r.TicketID, strings.Repeat("x", 200), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := s.Size(ctx)
	if after-before < 400 {
		t.Fatalf("two acks of 200 bytes grew Size by %d B: acks are not counted", after-before)
	}
	if _, err := s.Prune(ctx, time.Now(), outbox.Retention{KeepTickets: 1}); err != nil {
		t.Fatal(err)
	}
	all, err := s.Acks(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].TicketID != recs[1].TicketID {
		t.Fatalf("acks after the old ticket was pruned: %+v; want only %s's", all, recs[1].TicketID)
	}
}

// TestEvictDropsOlderAcksFirst: over max_size, Evict removes all but the
// newest ack of each ticket before it touches a record.
func TestEvictDropsOlderAcksFirst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	s := openT(t, path)
	defer closeT(t, s)
	ctx := context.Background()
	var recs []outbox.Record
	for i := range 20 {
		recs = append(recs, outboxtest.Ticket(i, 2))
	}
	recs = outboxtest.MustAppend(t, s, recs...)
	at := time.Now()
	for _, r := range recs {
		for k := range sqlite.AcksPerTicket {
			if err := s.Ack(ctx, r.TicketID, fmt.Sprintf("%s-%d-%s", r.TicketID, k, strings.Repeat("y", 200)), at.Add(time.Duration(k)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
	}
	size, _ := s.Size(ctx)
	ev, err := s.Evict(ctx, size-1000)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Telemetry+ev.DeliveredTickets+ev.Tombstoned != 0 {
		t.Fatalf("Evict removed records %+v while older acks could go", ev)
	}
	all, _ := s.Acks(ctx, "")
	if len(all) != len(recs) {
		t.Fatalf("%d acks after eviction, want the newest of each of %d tickets", len(all), len(recs))
	}
	for _, a := range all {
		if !strings.Contains(a.By, fmt.Sprintf("-%d-", sqlite.AcksPerTicket-1)) {
			t.Fatalf("kept ack %q is not the newest of its ticket", a.By[:40])
		}
	}
}

// TestLatestAcks: the newest ack of each ticket asked for, none of the
// others.
func TestLatestAcks(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "outbox.db"))
	defer closeT(t, s)
	ctx := context.Background()
	recs := outboxtest.MustAppend(t, s, outboxtest.Ticket(1, 1), outboxtest.Ticket(2, 1), outboxtest.Ticket(3, 1))
	at := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	for i, by := range []string{"甲", "乙", "丙"} {
		if err := s.Ack(ctx, recs[0].TicketID, by, at.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Ack(ctx, recs[1].TicketID, "丁", at); err != nil {
		t.Fatal(err)
	}
	got, err := s.LatestAcks(ctx, recs[0].TicketID, recs[2].TicketID, "no/such")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[recs[0].TicketID].By != "丙" || !got[recs[0].TicketID].At.Equal(at.Add(2*time.Minute)) {
		t.Fatalf("LatestAcks = %+v; want only %s by 丙", got, recs[0].TicketID)
	}
}

// TestHistoryPage: keyset pages, newest first, cover every record exactly
// once even when many share a CreatedAt, and carry no payload.
func TestHistoryPage(t *testing.T) {
	s := openT(t, filepath.Join(t.TempDir(), "outbox.db"))
	defer closeT(t, s)
	ctx := context.Background()
	at := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	var recs []outbox.Record
	for i := range 1234 {
		r := outboxtest.Ticket(i, 2)
		r.CreatedAt = at.Add(time.Duration(i/10) * time.Second) // ten records per instant
		recs = append(recs, r)
	}
	outboxtest.MustAppend(t, s, recs...)
	outboxtest.MustAppend(t, s, outboxtest.Telemetry(1))
	var cur outbox.HistoryCursor
	var seqs []uint64
	for {
		page, err := s.HistoryPage(ctx, outbox.HistoryQuery{}, cur, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			if len(r.Payload) != 0 {
				t.Fatalf("HistoryPage returned a payload for seq %d", r.Seq)
			}
			seqs = append(seqs, r.Seq)
		}
		if len(page) < 100 {
			break
		}
		cur = outbox.HistoryCursor{CreatedAt: page[len(page)-1].CreatedAt, Seq: page[len(page)-1].Seq}
	}
	if len(seqs) != 1234 {
		t.Fatalf("pages held %d records, want 1234", len(seqs))
	}
	for i, q := range seqs {
		if q != uint64(1234-i) {
			t.Fatalf("record %d of the pages is seq %d, want %d (newest first, none twice)", i, q, 1234-i)
		}
	}
}
