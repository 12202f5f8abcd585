// Package sqlite is the durable [outbox.Outbox]: SQLite (mattn/go-sqlite3)
// in WAL mode with synchronous=FULL, so a record is on disk when Append
// returns. Seqs come from a counter table, so they never repeat even after
// rows are deleted.
//
// Group commit: one writer goroutine takes every Append queued while the
// previous commit was being synced and commits them together, in one
// transaction with one fsync; each Append still returns only after its own
// records are on disk. A burst of alarms from many devices therefore costs
// a few fsyncs, not one per alarm ([Options.NoGroupCommit] turns it off). A corrupt or unreadable database file is moved aside
// (path.corrupt-<timestamp>) and a fresh one is created: the gateway keeps
// forwarding (DESIGN §6).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// schemaVersion is the version this code writes; see migrate.
const schemaVersion = 2

// Options tunes a Store. The zero value is usable.
type Options struct {
	// BusyTimeout is how long a statement waits for a lock (default 5 s).
	BusyTimeout time.Duration
	// Logger receives the loud warning when a corrupt file is moved aside;
	// nil discards.
	Logger *slog.Logger
	// Now is the clock for CreatedAt and the corrupt-file suffix; nil means time.Now.
	Now func() time.Time
	// NoGroupCommit commits every Append in its own transaction (one fsync
	// each) instead of batching concurrent Appends; for benchmarks.
	NoGroupCommit bool
}

// CorruptError says the database at Path could not be used and was moved
// to MovedTo; the Store returned with it is a fresh, empty outbox.
type CorruptError struct {
	Path, MovedTo string
	Cause         error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("outbox %s is corrupt or unreadable (%v): moved aside to %s, a fresh outbox was created; unsent events in the old file were NOT forwarded", e.Path, e.Cause, e.MovedTo)
}

func (e *CorruptError) Unwrap() error { return e.Cause }

// Store is the SQLite outbox. It implements [outbox.Outbox] and
// [outbox.TicketLister]. All methods are safe for concurrent use.
type Store struct {
	db        *sql.DB
	path      string
	now       func() time.Time
	recovered *CorruptError

	// mu guards closed and sending on appends: Close takes it for writing,
	// so no Append sends on a closed channel or starts on a closed db.
	mu      sync.RWMutex
	closed  bool
	appends chan *appendReq // nil without group commit
	written chan struct{}   // closed when the writer has drained appends

	closeOnce sync.Once
	closeErr  error
}

var _ interface {
	outbox.Outbox
	outbox.TicketLister
} = (*Store)(nil)

// Open opens or creates the outbox at path. If the file exists but is not a
// usable database, it is renamed to path.corrupt-<timestamp> (with its -wal
// and -shm files), the rename is logged at ERROR, and a fresh database is
// created: Open then returns the new Store and a nil error, and
// [Store.Recovered] reports what happened. Any other failure (directory
// missing, permission) is returned as an error.
func Open(path string, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := open(path, opts)
	if err == nil || !isCorrupt(err) {
		return s, err
	}
	moved, mvErr := moveAside(path, opts.Now())
	if mvErr != nil {
		return nil, fmt.Errorf("outbox %s is corrupt (%v) and cannot be moved aside: %w", path, err, mvErr)
	}
	ce := &CorruptError{Path: path, MovedTo: moved, Cause: err}
	log.Error("OUTBOX CORRUPT: moved aside, starting a fresh outbox", "path", path, "moved_to", moved, "err", err)
	s, err = open(path, opts)
	if err != nil {
		return nil, fmt.Errorf("%v; and the fresh outbox failed: %w", ce, err)
	}
	s.recovered = ce
	return s, nil
}

// Recovered returns the move-aside notice when Open had to replace a
// corrupt file, else nil. The daemon shows it in status and diag.
func (s *Store) Recovered() *CorruptError { return s.recovered }

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close waits for the Appends already queued to be committed, then closes
// the database; later calls fail with [outbox.ErrClosed].
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		if s.appends != nil {
			close(s.appends)
		}
		s.mu.Unlock()
		if s.written != nil {
			<-s.written
		}
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

func open(path string, opts Options) (*Store, error) {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_busy_timeout", fmt.Sprint(opts.BusyTimeout.Milliseconds()))
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	// One connection: SQLite has one writer anyway, and this keeps the
	// counter read-modify-write inside a single serialised transaction.
	db.SetMaxOpenConns(1)
	s := &Store{db: db, path: path, now: opts.Now}
	if err := s.check(); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	if err := s.migrate(); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	if !opts.NoGroupCommit {
		s.appends = make(chan *appendReq, appendQueue)
		s.written = make(chan struct{})
		go s.writer()
	}
	return s, nil
}

// check fails for a file that is not a healthy SQLite database.
func (s *Store) check() error {
	var res string
	if err := s.db.QueryRow(`PRAGMA quick_check`).Scan(&res); err != nil {
		return classify(s.path, err)
	}
	if res != "ok" {
		return &corrupt{fmt.Errorf("quick_check: %s", res)}
	}
	return nil
}

// corrupt marks errors that justify moving the file aside.
type corrupt struct{ err error }

func (c *corrupt) Error() string { return c.err.Error() }
func (c *corrupt) Unwrap() error { return c.err }

// classify marks as corrupt the errors that mean the file itself is bad
// (not a database, malformed, unreadable); a busy or locked database is
// returned as is, never moved aside.
func classify(path string, err error) error {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code {
	case sqlite3.ErrCorrupt, sqlite3.ErrNotADB, sqlite3.ErrFormat:
		return &corrupt{err}
	case sqlite3.ErrCantOpen, sqlite3.ErrPerm, sqlite3.ErrIoErr:
		if _, statErr := os.Stat(path); statErr == nil {
			return &corrupt{err} // the file is there but unreadable
		}
	}
	return err
}

func isCorrupt(err error) bool {
	var c *corrupt
	return errors.As(err, &c)
}

// moveAside renames path and its WAL companions to path.corrupt-<ts>.
func moveAside(path string, now time.Time) (string, error) {
	dst := path + ".corrupt-" + now.UTC().Format("20060102T150405.000Z")
	if err := os.Rename(path, dst); err != nil {
		return "", err
	}
	for _, sfx := range []string{"-wal", "-shm"} {
		if err := os.Rename(path+sfx, dst+sfx); err != nil && !errors.Is(err, os.ErrNotExist) {
			return dst, err
		}
	}
	return dst, nil
}

// migrate creates or upgrades the schema in one transaction.
func (s *Store) migrate() error {
	ctx := context.Background()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return classify(s.path, err)
	}
	defer rollback(tx)
	if _, err := tx.Exec(`CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return classify(s.path, err)
	}
	var v int
	err = tx.QueryRow(`SELECT version FROM schema_version`).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		v = 0
	case err != nil:
		return classify(s.path, err)
	}
	if v > schemaVersion {
		return fmt.Errorf("outbox %s has schema version %d, newer than this fenghuo (%d): refusing to touch it", s.path, v, schemaVersion)
	}
	if v < 1 {
		if err := createV1(tx); err != nil {
			return classify(s.path, err)
		}
	}
	if v < 2 {
		if err := migrateV2(tx); err != nil {
			return classify(s.path, err)
		}
	}
	return tx.Commit()
}

func createV1(tx *sql.Tx) error {
	const ddl = `
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO counters VALUES ('ticket', 0), ('telemetry', 0), ('sent', 0);
CREATE TABLE records (
	seq        INTEGER PRIMARY KEY,
	event_id   TEXT NOT NULL,
	ticket_id  TEXT NOT NULL,
	state      TEXT NOT NULL,
	hazard     TEXT NOT NULL,
	rule       TEXT NOT NULL,
	device     TEXT NOT NULL,
	level      INTEGER NOT NULL,
	priority   INTEGER NOT NULL,
	payload    BLOB NOT NULL,
	created_at INTEGER NOT NULL, -- unix nanoseconds
	sent_at    INTEGER           -- unix nanoseconds; NULL while pending
);
CREATE INDEX records_pending ON records (priority, seq) WHERE sent_at IS NULL;
CREATE INDEX records_ticket ON records (ticket_id, seq);
DELETE FROM schema_version;
INSERT INTO schema_version VALUES (1);`
	_, err := tx.Exec(ddl)
	return err
}

// migrateV2 adds acknowledgements and the drop counters.
func migrateV2(tx *sql.Tx) error {
	const ddl = `
CREATE TABLE acks (
	ticket_id TEXT NOT NULL,
	by_whom   TEXT NOT NULL,
	at        INTEGER NOT NULL -- unix nanoseconds
);
CREATE INDEX acks_ticket ON acks (ticket_id, at);
INSERT OR IGNORE INTO counters VALUES ('dropped_tickets', 0), ('dropped_telemetry', 0);
CREATE INDEX records_created ON records (priority, created_at) WHERE sent_at IS NOT NULL;
DELETE FROM schema_version;
INSERT INTO schema_version VALUES (2);`
	_, err := tx.Exec(ddl)
	return err
}

func rollback(tx *sql.Tx) {
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		slog.Default().Debug("outbox rollback", "err", err)
	}
}
