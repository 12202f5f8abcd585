package sqlite

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/atomicfile"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// The state file, <buffer.path>.state, keeps the outbox's identity outside
// the database: its id (random, made when the database was created) and
// the last ticket seq assigned. It is written after every commit that
// assigned ticket seqs, before the Append returns (so before the link can
// publish the seq), which must stay cheap: the file has two slots, in
// separate 4 KiB blocks, each a checksummed JSON line with a generation
// number, and an update overwrites the older slot in place and
// fdatasyncs it. An overwrite of allocated blocks needs no new space (it
// works on a full disk) and no metadata journal commit; a torn write
// damages only the slot being written, and the other still holds the
// previous seq, which is all the link may have published. The file is
// created (and, if unusable, recreated) atomically: temporary file,
// fsync, rename, fsync of the directory.
//
// When the database is missing, moved aside as corrupt, replaced by
// another file or older than the state file, Open continues the ticket
// seq after the state file's last seq instead of restarting at 1, and
// [Store.Continuity] says what happened.

// stateSchema is the schema field of the state file.
const stateSchema = "fenghuo.outbox-state/1"

// stateSlot is the size of one slot; the file is two slots.
const stateSlot = 4096

type stateDoc struct {
	Schema    string    `json:"schema"`
	OutboxID  string    `json:"outbox_id"`
	LastSeq   uint64    `json:"last_seq"`
	Gen       uint64    `json:"gen"`
	UpdatedAt time.Time `json:"updated_at"`
}

// statePath is the state file of the outbox at path.
func statePath(path string) string { return path + ".state" }

// encodeSlot is one slot: "<crc32 of the JSON, 8 hex> <JSON>", spaces up
// to the slot's last byte, a newline.
func encodeSlot(st stateDoc) ([]byte, error) {
	st.Schema = stateSchema
	j, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	line := fmt.Appendf(nil, "%08x %s", crc32.ChecksumIEEE(j), j)
	if len(line) > stateSlot-1 {
		return nil, fmt.Errorf("state slot of %d bytes", len(line))
	}
	b := bytes.Repeat([]byte{' '}, stateSlot)
	copy(b, line)
	b[stateSlot-1] = '\n'
	return b, nil
}

// decodeSlot reads a slot; ok is false for a damaged or empty one.
func decodeSlot(b []byte) (st stateDoc, ok bool) {
	b = bytes.TrimRight(b, " \n\x00")
	if len(b) < 10 || b[8] != ' ' {
		return st, false
	}
	var sum uint32
	if _, err := fmt.Sscanf(string(b[:8]), "%08x", &sum); err != nil || crc32.ChecksumIEEE(b[9:]) != sum {
		return st, false
	}
	if err := json.Unmarshal(b[9:], &st); err != nil || st.Schema != stateSchema || st.OutboxID == "" {
		return st, false
	}
	return st, true
}

// readState reads the state file: nil and no error when it does not
// exist; an *OpenError when it cannot be read (permission, I/O); a plain
// error when neither slot holds a valid state.
func readState(p string) (*stateDoc, error) {
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &OpenError{Path: p, Reason: reason(err), Err: err}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 2*stateSlot))
	if err != nil {
		return nil, &OpenError{Path: p, Reason: reason(err), Err: err}
	}
	var best *stateDoc
	for off := 0; off < len(b); off += stateSlot {
		if st, ok := decodeSlot(b[off:min(off+stateSlot, len(b))]); ok && (best == nil || st.Gen > best.Gen) {
			best = &st
		}
	}
	if best == nil {
		return nil, fmt.Errorf("state file %s holds no valid %s slot", p, stateSchema)
	}
	return best, nil
}

// createState writes a new state file atomically (both slots hold st)
// and returns it open for updates.
func createState(p string, st stateDoc) (*os.File, error) {
	slot, err := encodeSlot(st)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(p, append(slot, slot...), 0o600); err != nil {
		return nil, err
	}
	return os.OpenFile(p, os.O_RDWR, 0)
}

// writeStateLocked records st in the state file: in place in the older
// slot, or by creating the file when there is none open. Callers hold
// stateMu.
func (s *Store) writeStateLocked(last uint64) error {
	s.stateGen++
	st := stateDoc{OutboxID: s.id, LastSeq: last, Gen: s.stateGen, UpdatedAt: s.now().UTC()}
	if s.stateFile == nil {
		f, err := createState(statePath(s.path), st)
		if err != nil {
			return err
		}
		s.stateFile = f
		return nil
	}
	slot, err := encodeSlot(st)
	if err != nil {
		return err
	}
	if _, err := s.stateFile.WriteAt(slot, int64(s.stateGen%2)*stateSlot); err != nil {
		return err
	}
	return datasync(s.stateFile)
}

// Continuity reports a break in the outbox's history found at Open: the
// database is not the one the state file describes (missing, moved aside
// as corrupt, replaced) or is older than it. The ticket seq then continues
// at NextSeq, after the last seq the state file recorded, instead of
// restarting; the events between the old database's content and
// PrevLastSeq may be lost, and the station should be told.
type Continuity struct {
	PrevOutboxID string // the outbox id in the state file
	PrevLastSeq  uint64 // the last ticket seq the state file recorded
	OutboxID     string // the id of the database now in use
	NextSeq      uint64 // the next ticket seq this outbox assigns
	Reason       string // what happened, in words
}

func (c *Continuity) String() string {
	return fmt.Sprintf("outbox discontinuity: %s; previous outbox %s ended at seq %d, outbox %s continues at seq %d",
		c.Reason, c.PrevOutboxID, c.PrevLastSeq, c.OutboxID, c.NextSeq)
}

// Continuity returns the break Open found between the state file and the
// database, or nil when the database is the one the state file describes.
// The daemon reports it in the status and log.
func (s *Store) Continuity() *Continuity { return s.continuity }

// ID is the outbox's id: random, made when the database was created, kept
// in the database and in the state file.
func (s *Store) ID() string { return s.id }

// newOutboxID makes a random outbox id.
func newOutboxID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return "ob-" + hex.EncodeToString(b[:])
}

// reconcile compares the database with the state file read before it was
// opened (prev, nil when there was none), raises the ticket counter to the
// state file's last seq when the database is behind it, records the
// discontinuity, and writes the state file for this database.
func (s *Store) reconcile(prev *stateDoc, existed bool) error {
	ctx := context.Background()
	var counter int64
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM counters WHERE name = 'ticket'`).Scan(&counter); err != nil {
		return refusal(s.path, err)
	}
	last := uint64(counter)
	if prev != nil {
		var why string
		switch {
		case prev.OutboxID != s.id && s.recovered != nil:
			why = "the database was corrupt and moved aside to " + s.recovered.MovedTo
		case prev.OutboxID != s.id && !existed:
			why = "the database file was missing (deleted?): a fresh outbox was created"
		case prev.OutboxID != s.id:
			why = "the database file was replaced by another outbox (" + s.id + ")"
		case last < prev.LastSeq:
			why = fmt.Sprintf("the database's last seq %d is behind the state file's (restored from an older copy, or its -wal file was lost?)", last)
		}
		if why != "" {
			if last < prev.LastSeq {
				if _, err := s.db.ExecContext(ctx, `UPDATE counters SET value = ? WHERE name = 'ticket' AND value < ?`,
					int64(prev.LastSeq), int64(prev.LastSeq)); err != nil {
					return refusal(s.path, err)
				}
				last = prev.LastSeq
			}
			s.continuity = &Continuity{PrevOutboxID: prev.OutboxID, PrevLastSeq: prev.LastSeq, OutboxID: s.id, NextSeq: last + 1, Reason: why}
			s.log.Error("OUTBOX DISCONTINUITY: "+why+"; the seq continues after the previous outbox's instead of restarting, events not in the database may be lost",
				"path", s.path, "previous_outbox", prev.OutboxID, "previous_last_seq", prev.LastSeq, "outbox", s.id, "next_seq", last+1)
		}
	} else if s.recovered != nil {
		s.continuity = &Continuity{OutboxID: s.id, NextSeq: last + 1,
			Reason: "the database was corrupt and moved aside to " + s.recovered.MovedTo + ", and there was no state file: the seq restarts"}
		s.log.Error("OUTBOX DISCONTINUITY: "+s.continuity.Reason, "path", s.path, "outbox", s.id, "next_seq", last+1)
	}
	if prev != nil {
		s.stateGen = prev.Gen
	}
	if err := s.writeStateLocked(last); err != nil {
		if !errors.Is(err, syscall.ENOSPC) {
			return &OpenError{Path: statePath(s.path), Reason: reason(err), Err: err}
		}
		s.log.Error("outbox state file not written (disk full); will retry after the next commit", "path", statePath(s.path), "err", err)
	} else {
		s.stateSeq = last
	}
	s.stateLast = last
	return nil
}

// noteSeq records that ticket seqs up to seq are committed and writes the
// state file when it moved. It is called after every commit, before the
// Append returns. A failure is logged (once until it next succeeds) and
// retried after the next commit and at Close: the database still holds the
// records.
func (s *Store) noteSeq(seq uint64) {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	s.stateLast = max(s.stateLast, seq)
	if s.stateLast <= s.stateSeq {
		return
	}
	if err := s.writeStateLocked(s.stateLast); err != nil {
		if s.stateErr == nil && s.log != nil {
			s.log.Error("outbox state file not written: the seq is safe in the database, but would restart if the database were lost", "path", statePath(s.path), "err", err)
		}
		s.stateErr = err
		return
	}
	s.stateErr = nil
	s.stateSeq = s.stateLast
}

// ReserveSeq records in the state file that ticket seqs up to seq were
// assigned outside the database (events published from memory while the
// store refused writes), so that a database lost before they are restored
// does not reuse them: the next Open continues after seq and reports the
// discontinuity. It returns once the state file is on disk. The in-place
// update needs no new disk space, so it works on a full disk.
func (s *Store) ReserveSeq(seq uint64) error {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	if seq <= s.stateSeq {
		return nil
	}
	s.stateLast = max(s.stateLast, seq)
	if err := s.writeStateLocked(s.stateLast); err != nil {
		return fmt.Errorf("outbox %s: reserving seq %d in the state file: %w", s.path, seq, err)
	}
	s.stateSeq = s.stateLast
	return nil
}

// FileError says the outbox's database file changed under the running
// Store: deleted, or replaced by another file. Commits then go to a file
// that is no longer at the path (lost at the next start) or fail; it is a
// storage fault. Wraps [ErrFileChanged].
type FileError struct {
	Path    string
	Problem string // "deleted", "replaced by another file", "cannot be checked"
	Err     error  // the stat error, if any
}

// ErrFileChanged is wrapped by every *FileError.
var ErrFileChanged = errors.New("outbox file changed under the running gateway")

func (e *FileError) Error() string {
	msg := fmt.Sprintf("outbox %s: the database file was %s while the gateway was running; events committed from now on are not in the file at that path", e.Path, e.Problem)
	if e.Err != nil {
		msg += fmt.Sprintf(" (%v)", e.Err)
	}
	return msg
}

func (e *FileError) Unwrap() []error { return []error{ErrFileChanged, e.Err} }

// CheckFile reports whether the database file at the path is still the
// one Open opened (same device and inode): a *FileError when it was
// deleted or replaced, nil otherwise. It costs two stat calls; the daemon
// calls it periodically and reports a failure as a storage fault. It also
// rewrites the state file if that was deleted.
func (s *Store) CheckFile() error {
	fi, err := os.Stat(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &FileError{Path: s.path, Problem: "deleted"}
	case err != nil:
		return &FileError{Path: s.path, Problem: "cannot be checked", Err: err}
	case !os.SameFile(fi, s.file):
		return &FileError{Path: s.path, Problem: "replaced by another file"}
	}
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	if s.stateFile != nil {
		if fi, err := os.Stat(statePath(s.path)); err == nil {
			if open, err := s.stateFile.Stat(); err == nil && os.SameFile(fi, open) {
				return nil
			}
		}
		s.stateFile.Close() // deleted or replaced: create it again
		s.stateFile = nil
	}
	if err := s.writeStateLocked(s.stateLast); err != nil {
		s.log.Error("outbox state file not written", "path", statePath(s.path), "err", err)
	} else {
		s.stateSeq = s.stateLast
	}
	return nil
}

// readID reads the outbox id from the meta table.
func readID(ctx context.Context, tx *sql.Tx) (string, error) {
	var id string
	err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'outbox_id'`).Scan(&id)
	return id, err
}

var _ outbox.SeqReserver = (*Store)(nil)
