package sqlite_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox/outboxtest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/sqlite"
)

type stateFile struct {
	Schema   string `json:"schema"`
	OutboxID string `json:"outbox_id"`
	LastSeq  uint64 `json:"last_seq"`
	Gen      uint64 `json:"gen"`
}

// readStateT reads the newest of the state file's two slots (4 KiB
// each: "<crc32> <json>" padded with spaces).
func readStateT(t *testing.T, path string) stateFile {
	t.Helper()
	b, err := os.ReadFile(path + ".state")
	if err != nil {
		t.Fatalf("state file: %v", err)
	}
	if len(b) != 8192 {
		t.Fatalf("state file of %d bytes, want two 4 KiB slots", len(b))
	}
	var best stateFile
	for off := 0; off < len(b); off += 4096 {
		line := bytes.TrimRight(b[off:off+4096], " \n")
		var st stateFile
		if err := json.Unmarshal(line[9:], &st); err != nil {
			t.Fatalf("state slot %q: %v", line, err)
		}
		if st.Gen >= best.Gen {
			best = st
		}
	}
	return best
}

func removeDB(t *testing.T, path string) {
	t.Helper()
	for _, sfx := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + sfx); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
}

// TestStateFileTracksSeq: the state file holds the outbox id and the last
// ticket seq as soon as an Append returns (telemetry does not move it).
func TestStateFileTracksSeq(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "outbox.db")
			s, err := sqlite.Open(path, m.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer closeT(t, s)
			if st := readStateT(t, path); st.OutboxID != s.ID() || !strings.HasPrefix(st.OutboxID, "ob-") || st.LastSeq != 0 {
				t.Fatalf("state of a new outbox = %+v, id %s", st, s.ID())
			}
			for i := 1; i <= 3; i++ {
				outboxtest.MustAppend(t, s, outboxtest.Ticket(i, 1), outboxtest.Telemetry(i))
				if st := readStateT(t, path); st.LastSeq != uint64(i) {
					t.Fatalf("state after ticket seq %d says last_seq %d", i, st.LastSeq)
				}
			}
		})
	}
}

// TestDeletedOutboxContinuesSeq: issue 15 item 4. The database is deleted
// (with its WAL) while the gateway is stopped: the fresh outbox continues
// at the next seq, not at 1, and Continuity says why.
func TestDeletedOutboxContinuesSeq(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	s := openT(t, path)
	oldID := s.ID()
	outboxtest.MustAppend(t, s, outboxtest.Ticket(1, 1), outboxtest.Ticket(2, 1))
	if c := s.Continuity(); c != nil {
		t.Fatalf("a new outbox reports a discontinuity: %v", c)
	}
	closeT(t, s)
	removeDB(t, path)
	var logs bytes.Buffer
	s, err := sqlite.Open(path, sqlite.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer closeT(t, s)
	c := s.Continuity()
	if c == nil || c.PrevOutboxID != oldID || c.PrevLastSeq != 2 || c.NextSeq != 3 || c.OutboxID == oldID || !strings.Contains(c.Reason, "missing") {
		t.Fatalf("Continuity = %+v; want previous %s ended at 2, next 3, database missing", c, oldID)
	}
	if r := outboxtest.MustAppend(t, s, outboxtest.Ticket(3, 1)); r[0].Seq != 3 {
		t.Fatalf("seq after the outbox was deleted = %d, want 3 (not 1)", r[0].Seq)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "OUTBOX DISCONTINUITY") {
		t.Fatalf("no loud log line:\n%s", logs.String())
	}
	if st := readStateT(t, path); st.OutboxID != s.ID() || st.LastSeq != 3 {
		t.Fatalf("state after the new outbox's first append = %+v", st)
	}
}

// TestCorruptOutboxContinuesSeq: a corrupt database moved aside does not
// restart the seq either.
func TestCorruptOutboxContinuesSeq(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	s := openT(t, path)
	outboxtest.MustAppend(t, s, outboxtest.Ticket(1, 1), outboxtest.Ticket(2, 1))
	closeT(t, s)
	removeDB(t, path)
	if err := os.WriteFile(path, bytes.Repeat([]byte("smoke "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	s = openT(t, path)
	defer closeT(t, s)
	if s.Recovered() == nil {
		t.Fatal("not moved aside")
	}
	if c := s.Continuity(); c == nil || c.NextSeq != 3 || !strings.Contains(c.Reason, "moved aside") {
		t.Fatalf("Continuity = %+v", c)
	}
	if r := outboxtest.MustAppend(t, s, outboxtest.Ticket(3, 1)); r[0].Seq != 3 {
		t.Fatalf("seq after the corrupt outbox was moved aside = %d, want 3", r[0].Seq)
	}
}

// TestReplacedOutboxContinuesSeq: another outbox's file put in place (a
// copy from another gateway, a restored image) continues after the larger
// of the two seqs and is reported as a replacement.
func TestReplacedOutboxContinuesSeq(t *testing.T) {
	dir := t.TempDir()
	path, other := filepath.Join(dir, "outbox.db"), filepath.Join(dir, "other.db")
	s := openT(t, path)
	for i := range 5 {
		outboxtest.MustAppend(t, s, outboxtest.Ticket(i, 2))
	}
	closeT(t, s)
	o := openT(t, other)
	outboxtest.MustAppend(t, o, outboxtest.Ticket(1, 2))
	otherID := o.ID()
	closeT(t, o)
	removeDB(t, path)
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	s = openT(t, path)
	defer closeT(t, s)
	if c := s.Continuity(); c == nil || c.OutboxID != otherID || c.PrevLastSeq != 5 || c.NextSeq != 6 || !strings.Contains(c.Reason, "replaced") {
		t.Fatalf("Continuity = %+v", c)
	}
	if r := outboxtest.MustAppend(t, s, outboxtest.Ticket(9, 2)); r[0].Seq != 6 {
		t.Fatalf("seq in the replacing outbox = %d, want 6", r[0].Seq)
	}
}

// TestOlderCopyContinuesSeq: the same outbox restored from an older copy
// continues after the state file's seq.
func TestOlderCopyContinuesSeq(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "outbox.db")
	s := openT(t, path)
	outboxtest.MustAppend(t, s, outboxtest.Ticket(1, 2))
	closeT(t, s)
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s = openT(t, path)
	outboxtest.MustAppend(t, s, outboxtest.Ticket(2, 2), outboxtest.Ticket(3, 2))
	closeT(t, s)
	removeDB(t, path)
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	s = openT(t, path)
	defer closeT(t, s)
	if c := s.Continuity(); c == nil || c.PrevLastSeq != 3 || c.NextSeq != 4 || c.OutboxID != c.PrevOutboxID {
		t.Fatalf("Continuity = %+v", c)
	}
	if r := outboxtest.MustAppend(t, s, outboxtest.Ticket(4, 2)); r[0].Seq != 4 {
		t.Fatalf("seq = %d, want 4", r[0].Seq)
	}
}

// TestUnusableStateFileIgnored: a state file that is not one is logged
// and rewritten; the database's own counter still holds.
func TestUnusableStateFileIgnored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	s := openT(t, path)
	outboxtest.MustAppend(t, s, outboxtest.Ticket(1, 2))
	closeT(t, s)
	if err := os.WriteFile(path+".state", []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s, err := sqlite.Open(path, sqlite.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer closeT(t, s)
	if !strings.Contains(logs.String(), "STATE FILE UNREADABLE") || s.Continuity() != nil {
		t.Fatalf("logs %s, continuity %v", logs.String(), s.Continuity())
	}
	if st := readStateT(t, path); st.LastSeq != 1 || st.OutboxID != s.ID() {
		t.Fatalf("state not rewritten: %+v", st)
	}
}

// TestCheckFile: a database deleted or replaced under a running Store is
// reported as a *FileError; a deleted state file is rewritten.
func TestCheckFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "outbox.db")
	s := openT(t, path)
	defer closeT(t, s)
	outboxtest.MustAppend(t, s, outboxtest.Ticket(1, 2))
	if err := s.CheckFile(); err != nil {
		t.Fatalf("CheckFile of an untouched outbox: %v", err)
	}
	if err := os.Remove(path + ".state"); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckFile(); err != nil {
		t.Fatalf("CheckFile with the state file deleted: %v", err)
	}
	if st := readStateT(t, path); st.LastSeq != 1 {
		t.Fatalf("state file not rewritten: %+v", st)
	}
	if err := os.Rename(path, path+".elsewhere"); err != nil {
		t.Fatal(err)
	}
	err := s.CheckFile()
	var fe *sqlite.FileError
	if !errors.As(err, &fe) || fe.Problem != "deleted" || !errors.Is(err, sqlite.ErrFileChanged) || !strings.Contains(err.Error(), path) {
		t.Fatalf("CheckFile of a deleted outbox: %v", err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckFile(); !errors.As(err, &fe) || fe.Problem != "replaced by another file" {
		t.Fatalf("CheckFile of a replaced outbox: %v", err)
	}
}

// TestStateTornSlot: a damaged slot (a write torn by a power cut) is
// ignored and the other slot's seq is used.
func TestStateTornSlot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	s := openT(t, path)
	outboxtest.MustAppend(t, s, outboxtest.Ticket(1, 2))
	outboxtest.MustAppend(t, s, outboxtest.Ticket(2, 2))
	closeT(t, s)
	newest := readStateT(t, path)
	if newest.LastSeq != 2 {
		t.Fatalf("state %+v", newest)
	}
	f, err := os.OpenFile(path+".state", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("torn!"), int64(newest.Gen%2)*4096+40); err != nil {
		t.Fatal(err)
	}
	f.Close()
	removeDB(t, path)
	s = openT(t, path)
	defer closeT(t, s)
	if c := s.Continuity(); c == nil || c.PrevLastSeq != 1 || c.NextSeq != 2 {
		t.Fatalf("Continuity with the newest slot torn = %+v; want the older slot's seq 1", c)
	}
}

// TestReserveSeq: seqs assigned outside the database (published from
// memory during a storage fault) are not reused when the database is lost
// before they were restored.
func TestReserveSeq(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	s := openT(t, path)
	outboxtest.MustAppend(t, s, outboxtest.Ticket(1, 2))
	if err := s.ReserveSeq(5); err != nil {
		t.Fatal(err)
	}
	if st := readStateT(t, path); st.LastSeq != 5 {
		t.Fatalf("state after ReserveSeq(5): %+v", st)
	}
	closeT(t, s)
	s = openT(t, path) // the same database, without seqs 2..5
	defer closeT(t, s)
	if c := s.Continuity(); c == nil || c.PrevLastSeq != 5 || c.NextSeq != 6 {
		t.Fatalf("Continuity = %+v; want the reserved seqs skipped", c)
	}
	if r := outboxtest.MustAppend(t, s, outboxtest.Ticket(6, 2)); r[0].Seq != 6 {
		t.Fatalf("seq after reserved 5 = %d, want 6", r[0].Seq)
	}
}
