package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/outboxtest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/sqlite"
)

func openT(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func closeT(t testing.TB, s *sqlite.Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// modes are the two ways a Store commits Appends.
var modes = []struct {
	name string
	opts sqlite.Options
}{
	{"group_commit", sqlite.Options{}},
	{"no_group_commit", sqlite.Options{NoGroupCommit: true}},
}

func TestConformance(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			outboxtest.Run(t, func(t *testing.T) outbox.Outbox {
				s, err := sqlite.Open(filepath.Join(t.TempDir(), "outbox.db"), m.opts)
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				t.Cleanup(func() { closeT(t, s) })
				return s
			})
		})
	}
}

// TestDurableAcrossReopen: records, sent marks and the seq counter survive
// close and reopen, and seqs continue without a gap or a repeat.
func TestDurableAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	s := openT(t, path)
	recs := outboxtest.MustAppend(t, s, outboxtest.Ticket(1, 2), outboxtest.Ticket(2, 1), outboxtest.Ticket(3, 3))
	if err := s.MarkSent(context.Background(), time.Now(), recs[0].Seq); err != nil {
		t.Fatal(err)
	}
	closeT(t, s)

	s = openT(t, path)
	defer closeT(t, s)
	pending := outboxtest.MustPending(t, s)
	if got := fmt.Sprint(outboxtest.Seqs(pending)); got != "[2 3]" {
		t.Fatalf("pending after reopen = %s, want [2 3] (level 1 first)", got)
	}
	if string(pending[0].Payload) != `{"n":2}` || pending[0].EventID != "ev-2" || pending[0].Rule != "R1" {
		t.Fatalf("record not restored intact: %+v", pending[0])
	}
	more := outboxtest.MustAppend(t, s, outboxtest.Ticket(4, 2))
	if more[0].Seq != 4 {
		t.Fatalf("seq after reopen = %d, want 4", more[0].Seq)
	}
	st, err := s.Stats(context.Background())
	if err != nil || st.Sent != 1 || st.LastSeq != 4 || st.Depth != 3 {
		t.Fatalf("Stats after reopen = %+v, %v", st, err)
	}
}

// TestSeqNeverRepeatsAfterDelete: the counter, not max(seq), numbers records.
func TestSeqNeverRepeatsAfterDelete(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	s := openT(t, path)
	outboxtest.MustAppend(t, s, outboxtest.Ticket(1, 2), outboxtest.Ticket(2, 2))
	closeT(t, s)
	deleteAll(t, path)
	s = openT(t, path)
	defer closeT(t, s)
	if r := outboxtest.MustAppend(t, s, outboxtest.Ticket(3, 2)); r[0].Seq != 3 {
		t.Fatalf("seq after deleting rows = %d, want 3", r[0].Seq)
	}
}

// TestCorruptFileMovedAside: garbage at the path is renamed aside with a
// loud log line and a fresh, working outbox takes its place.
func TestCorruptFileMovedAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "outbox.db")
	garbage := bytes.Repeat([]byte("not a database, just smoke "), 400)
	if err := os.WriteFile(path, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s, err := sqlite.Open(path, sqlite.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("Open of a corrupt file must recover, got %v", err)
	}
	defer closeT(t, s)
	ce := s.Recovered()
	if ce == nil || !strings.HasPrefix(filepath.Base(ce.MovedTo), "outbox.db.corrupt-") {
		t.Fatalf("Recovered() = %v, want a move-aside notice", ce)
	}
	moved, err := os.ReadFile(ce.MovedTo)
	if err != nil || !bytes.Equal(moved, garbage) {
		t.Fatalf("the corrupt file was not kept intact at %s: %v", ce.MovedTo, err)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), ce.MovedTo) {
		t.Fatalf("no loud log line naming the moved file:\n%s", logs.String())
	}
	if r := outboxtest.MustAppend(t, s, outboxtest.Ticket(1, 1)); r[0].Seq != 1 {
		t.Fatalf("fresh outbox seq = %d, want 1", r[0].Seq)
	}
	var target *sqlite.CorruptError
	if !errors.As(error(ce), &target) || !strings.Contains(ce.Error(), "moved aside") {
		t.Fatalf("CorruptError text: %v", ce)
	}
}

// TestMissingDirectoryIsAnError: an unusable path is reported, not hidden.
func TestMissingDirectoryIsAnError(t *testing.T) {
	_, err := sqlite.Open(filepath.Join(t.TempDir(), "no", "such", "dir", "outbox.db"), sqlite.Options{})
	if err == nil {
		t.Fatal("Open in a missing directory succeeded")
	}
}
