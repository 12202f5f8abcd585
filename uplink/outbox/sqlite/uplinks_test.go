package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/outboxtest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/sqlite"
)

func openUplinks(t testing.TB, path string, uplinks ...string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(path, sqlite.Options{Uplinks: uplinks})
	if err != nil {
		t.Fatalf("Open(%v): %v", uplinks, err)
	}
	return s
}

func TestUplinksConformance(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			outboxtest.RunUplinks(t, func(t *testing.T, uplinks ...string) outbox.Outbox {
				opts := m.opts
				opts.Uplinks = uplinks
				s, err := sqlite.Open(filepath.Join(t.TempDir(), "outbox.db"), opts)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			})
		})
	}
}

// TestUplinksRestartKeepsBothCursors: each uplink's cursor is on disk.
func TestUplinksRestartKeepsBothCursors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	s := openUplinks(t, path, outboxtest.UplinkA, outboxtest.UplinkB)
	recs := outboxtest.MustAppend(t, s, outboxtest.Ticket(1, 2), outboxtest.Ticket(2, 1), outboxtest.Ticket(3, 3))
	mark(t, outboxtest.MustUplink(t, s, outboxtest.UplinkA), recs[0].Seq, recs[1].Seq)
	mark(t, outboxtest.MustUplink(t, s, outboxtest.UplinkB), recs[2].Seq)
	closeT(t, s)
	s = openUplinks(t, path, outboxtest.UplinkA, outboxtest.UplinkB)
	defer closeT(t, s)
	a, b := outboxtest.MustUplink(t, s, outboxtest.UplinkA), outboxtest.MustUplink(t, s, outboxtest.UplinkB)
	if got := fmt.Sprint(outboxtest.Seqs(outboxtest.MustPending(t, a))); got != "[3]" {
		t.Fatalf("%s pending after restart = %s, want [3]", outboxtest.UplinkA, got)
	}
	if got := fmt.Sprint(outboxtest.Seqs(outboxtest.MustPending(t, b))); got != "[2 1]" {
		t.Fatalf("%s pending after restart = %s, want [2 1]", outboxtest.UplinkB, got)
	}
	if st, err := a.Stats(context.Background()); err != nil || st.Sent != 2 {
		t.Fatalf("%s Stats after restart = %+v, %v; want sent 2", outboxtest.UplinkA, st, err)
	}
}

// TestUplinkDeclaredLater: an uplink added to an existing outbox sees the
// records appended from then on; one removed no longer holds records back.
func TestUplinkDeclaredLaterAndRemoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	s := openT(t, path) // the default: mqtt only
	old := outboxtest.MustAppend(t, s, outboxtest.Ticket(1, 2), outboxtest.Ticket(2, 2))
	mark(t, s, old[0].Seq)
	closeT(t, s)

	s = openUplinks(t, path, outbox.DefaultUplink, "gb26875")
	outboxtest.MustAppend(t, s, outboxtest.Ticket(3, 2))
	gb := outboxtest.MustUplink(t, s, "gb26875")
	if got := fmt.Sprint(outboxtest.Seqs(outboxtest.MustPending(t, gb))); got != "[3]" {
		t.Fatalf("a newly declared uplink's pending = %s, want [3] (only what was appended after it was declared)", got)
	}
	if got := fmt.Sprint(outboxtest.Seqs(outboxtest.MustPending(t, outboxtest.MustUplink(t, s, "mqtt")))); got != "[2 3]" {
		t.Fatalf("mqtt pending = %s, want [2 3]", got)
	}
	closeT(t, s)

	// gb26875 removed while it still lacks seq 3: seq 3 waits for mqtt only.
	s = openT(t, path)
	defer closeT(t, s)
	if _, err := outbox.For(s, "gb26875"); err == nil {
		t.Fatal("a removed uplink must not have a view")
	}
	mark(t, s, 2, 3)
	st, err := s.Stats(context.Background())
	if err != nil || st.Depth != 0 || !st.OldestUnsentTicket.IsZero() {
		t.Fatalf("Stats after mqtt delivered all = %+v, %v; a removed uplink must not keep records unsent", st, err)
	}
}

func mark(t testing.TB, o outbox.Outbox, seqs ...uint64) {
	t.Helper()
	if err := o.MarkSent(context.Background(), time.Now(), seqs...); err != nil {
		t.Fatalf("MarkSent: %v", err)
	}
}

// v3Schema is the schema of version 3 (before the cursors), without its
// schema_version table: a file whose version record is lost.
const v3Schema = `
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO counters VALUES ('ticket', 3), ('telemetry', 0), ('sent', 2), ('dropped_tickets', 0), ('dropped_telemetry', 0);
CREATE TABLE records (seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL, ticket_id TEXT NOT NULL, state TEXT NOT NULL,
	hazard TEXT NOT NULL, rule TEXT NOT NULL, device TEXT NOT NULL, level INTEGER NOT NULL, priority INTEGER NOT NULL,
	payload BLOB NOT NULL, created_at INTEGER NOT NULL, sent_at INTEGER);
CREATE INDEX records_pending ON records (priority, seq) WHERE sent_at IS NULL;
CREATE INDEX records_ticket ON records (ticket_id, seq);
CREATE TABLE acks (ticket_id TEXT NOT NULL, by_whom TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX acks_ticket ON acks (ticket_id, at);
CREATE INDEX records_created ON records (priority, created_at) WHERE sent_at IS NOT NULL;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('outbox_id', 'test-outbox-id');
INSERT INTO records VALUES
	(1, 'ev-1', 'gw/d/R1/1', 'open', 'smoke_fire_alarm', 'R1', 'd', 1, 0, x'7b7d', 1000, 5000),
	(2, 'ev-2', 'gw/d/R1/2', 'open', 'smoke_fire_alarm', 'R1', 'd', 2, 1, x'7b7d', 2000, NULL),
	(3, 'ev-3', 'gw/d/R1/3', 'open', 'smoke_fire_alarm', 'R1', 'd', 2, 1, x'7b7d', 3000, 6000);`

func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestMigrateFromV3: an outbox of the previous schema opens with its
// records and sent marks, at the current version, in one step.
func TestMigrateFromV3(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	db := rawDB(t, path)
	if _, err := db.Exec(v3Schema); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := openUplinks(t, path, outbox.DefaultUplink, "gb26875")
	defer closeT(t, s)
	ctx := context.Background()
	if got := fmt.Sprint(outboxtest.Seqs(outboxtest.MustPending(t, s))); got != "[2]" {
		t.Fatalf("pending after migration = %s, want [2]", got)
	}
	mq := outboxtest.MustUplink(t, s, outbox.DefaultUplink)
	if got := fmt.Sprint(outboxtest.Seqs(outboxtest.MustPending(t, mq))); got != "[2]" {
		t.Fatalf("mqtt pending after migration = %s, want [2]: the unsent record is the old cursor's", got)
	}
	if got := outboxtest.MustPending(t, outboxtest.MustUplink(t, s, "gb26875")); len(got) != 0 {
		t.Fatalf("gb26875, declared now, must not get the backlog: %v", outboxtest.Seqs(got))
	}
	hist, err := s.History(ctx, outbox.HistoryQuery{})
	if err != nil || len(hist) != 3 || !hist[0].SentAt.Equal(time.Unix(0, 5000)) || !hist[1].SentAt.IsZero() {
		t.Fatalf("history after migration = %+v, %v; want 3 records, sent marks kept", hist, err)
	}
	if st, err := mq.Stats(ctx); err != nil || st.Sent != 2 || st.LastSeq != 3 {
		t.Fatalf("mqtt Stats after migration = %+v, %v; want sent 2, last seq 3", st, err)
	}
	if r := outboxtest.MustAppend(t, s, outboxtest.Ticket(4, 2)); r[0].Seq != 4 {
		t.Fatalf("seq after migration = %d, want 4", r[0].Seq)
	}
	var uv int
	if err := rawDB(t, path).QueryRow(`PRAGMA user_version`).Scan(&uv); err != nil || uv != 4 {
		t.Fatalf("user_version = %d, %v; want 4", uv, err)
	}
}

// TestRefusesNewerSchema: a file from a newer fenghuo is refused, named,
// with both versions, and left as it is.
func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	s := openT(t, path)
	outboxtest.MustAppend(t, s, outboxtest.Ticket(1, 2))
	closeT(t, s)
	if _, err := rawDB(t, path).Exec(`PRAGMA user_version = 9`); err != nil {
		t.Fatal(err)
	}
	_, err := sqlite.Open(path, sqlite.Options{})
	var ve *sqlite.VersionError
	if !errors.As(err, &ve) || ve.Version != 9 || ve.Known != 4 {
		t.Fatalf("Open of a newer outbox = %v, want a *VersionError 9 > 4", err)
	}
	for _, want := range []string{path, "schema version 9", "(4)"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not name %q", err, want)
		}
	}
	var n int
	if err := rawDB(t, path).QueryRow(`SELECT count(*) FROM records`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the refused file must be left as it is: %d records, %v", n, err)
	}
}

func TestBadUplinkNames(t *testing.T) {
	for _, names := range [][]string{{""}, {"mqtt", "mqtt"}, {"a b"}} {
		_, err := sqlite.Open(filepath.Join(t.TempDir(), "outbox.db"), sqlite.Options{Uplinks: names})
		if err == nil || !strings.Contains(err.Error(), "uplink") {
			t.Fatalf("Open with uplinks %q = %v, want an error naming the uplink", names, err)
		}
	}
}

// TestPruneWaitsForEveryUplink: a record one uplink has not delivered is
// neither pruned nor counted in the records floor; once it has, it is.
func TestPruneWaitsForEveryUplink(t *testing.T) {
	ctx := context.Background()
	s := openUplinks(t, filepath.Join(t.TempDir(), "outbox.db"), outboxtest.UplinkA, outboxtest.UplinkB)
	defer closeT(t, s)
	now := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	var recs []outbox.Record
	for i := 1; i <= 4; i++ {
		r := outboxtest.Ticket(i, 3)
		r.State, r.CreatedAt = "clear", now.Add(-40*24*time.Hour)
		recs = append(recs, r)
	}
	recs = outboxtest.MustAppend(t, s, recs...)
	seqs := outboxtest.Seqs(recs)
	mark(t, outboxtest.MustUplink(t, s, outboxtest.UplinkA), seqs...)
	mark(t, outboxtest.MustUplink(t, s, outboxtest.UplinkB), seqs[:2]...)
	r := outbox.Retention{Tickets: 30 * 24 * time.Hour, KeepTickets: 1, Telemetry: time.Hour}
	n, err := s.Prune(ctx, now, r)
	if err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want 1 (seqs 1 and 2 delivered by both, the newest of them kept by the floor)", n, err)
	}
	hist, err := s.History(ctx, outbox.HistoryQuery{})
	if err != nil || fmt.Sprint(outboxtest.Seqs(hist)) != "[2 3 4]" {
		t.Fatalf("history after Prune = %v, %v; want [2 3 4]", outboxtest.Seqs(hist), err)
	}
	mark(t, outboxtest.MustUplink(t, s, outboxtest.UplinkB), seqs[2:]...)
	if n, err := s.Prune(ctx, now, r); err != nil || n != 2 {
		t.Fatalf("Prune after both delivered = %d, %v; want 2", n, err)
	}
}

func TestGuardOverSQLiteUplinks(t *testing.T) {
	outboxtest.RunUplinks(t, func(t *testing.T, uplinks ...string) outbox.Outbox {
		s := openUplinks(t, filepath.Join(t.TempDir(), "outbox.db"), uplinks...)
		t.Cleanup(func() { s.Close() })
		g, err := outbox.NewGuard(context.Background(), s, outbox.GuardOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return g
	})
}

// BenchmarkDeliver measures one uplink's full cycle per event — Append,
// Pending, MarkSent — with one and two declared uplinks; with two, both
// deliver every event, so events/s is what each uplink gets while the
// other keeps up.
func BenchmarkDeliver(b *testing.B) {
	for _, uplinks := range [][]string{{"mqtt"}, {"mqtt", "gb26875"}} {
		b.Run(fmt.Sprintf("uplinks=%d", len(uplinks)), func(b *testing.B) {
			s := openUplinks(b, filepath.Join(b.TempDir(), "outbox.db"), uplinks...)
			defer s.Close()
			views := make([]outbox.Outbox, len(uplinks))
			for i, u := range uplinks {
				views[i] = outboxtest.MustUplink(b, s, u)
			}
			rec := outboxtest.Ticket(1, 2)
			rec.Payload = make([]byte, 600)
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Append(ctx, rec); err != nil {
					b.Fatal(err)
				}
				for _, v := range views {
					p, err := v.Pending(ctx, 16)
					if err != nil || len(p) == 0 {
						b.Fatalf("Pending: %d, %v", len(p), err)
					}
					if err := v.MarkSent(ctx, time.Now(), outboxtest.Seqs(p)...); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// TestUplinkReplaced: the one uplink replaced by another: the new one
// starts with no backlog and the old one's unsent records no longer count.
func TestUplinkReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	s := openT(t, path)
	outboxtest.MustAppend(t, s, outboxtest.Ticket(1, 2), outboxtest.Ticket(2, 2))
	closeT(t, s)
	s = openUplinks(t, path, "gb26875")
	defer closeT(t, s)
	if got := outboxtest.MustPending(t, outboxtest.MustUplink(t, s, "gb26875")); len(got) != 0 {
		t.Fatalf("the replacing uplink got the backlog: %v", outboxtest.Seqs(got))
	}
	outboxtest.MustAppend(t, s, outboxtest.Ticket(3, 2))
	if got := pendingSeqs(t, s); got != "[3]" {
		t.Fatalf("pending = %s, want [3]", got)
	}
}

func pendingSeqs(t *testing.T, o outbox.Outbox) string {
	t.Helper()
	return fmt.Sprint(outboxtest.Seqs(outboxtest.MustPending(t, o)))
}

// TestMigrationFailsWhole: a migration that fails part-way leaves the file
// exactly as it was (one transaction), and Open says which step failed.
func TestMigrationFailsWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	db := rawDB(t, path)
	// A stray table where version 4 creates its own: the step fails.
	if _, err := db.Exec(v3Schema + `CREATE TABLE pending (x);`); err != nil {
		t.Fatal(err)
	}
	_, err := sqlite.Open(path, sqlite.Options{})
	if err == nil || !strings.Contains(err.Error(), "from schema version 3 to 4") || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open = %v, want an error naming the file and the failed step 3 to 4", err)
	}
	var uv, n, sv int
	if err := db.QueryRow(`SELECT (SELECT count(*) FROM records WHERE sent_at IS NULL), (SELECT count(*) FROM sqlite_master WHERE name IN ('schema_version', 'records_history', 'pending_order'))`).Scan(&n, &sv); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&uv); err != nil || uv != 0 || n != 1 || sv != 0 {
		t.Fatalf("after a failed migration: user_version %d (%v), %d unsent records, %d new objects; want 0, 1, 0", uv, err, n, sv)
	}
}
