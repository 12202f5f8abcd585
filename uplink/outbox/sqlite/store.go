// Package sqlite is the durable [outbox.Outbox]: SQLite (mattn/go-sqlite3)
// in WAL mode with synchronous=FULL, so a record is on disk when Append
// returns. Seqs come from a counter table, so they never repeat even after
// rows are deleted.
//
// Group commit: one writer goroutine takes every Append queued while the
// previous commit was being synced and commits them together, in one
// transaction with one fsync; each Append still returns only after its own
// records are on disk. A burst of alarms from many devices therefore costs
// a few fsyncs, not one per alarm ([Options.NoGroupCommit] turns it off).
//
// Storage faults (DESIGN §6, issue 15): a corrupt database file (not a
// database, malformed, failing quick_check) is moved aside
// (path.corrupt-<timestamp>) and a fresh one is created, so the gateway
// keeps forwarding; a file that cannot be opened for any other reason
// (permission, read-only filesystem, I/O error, missing directory) is left
// alone and Open fails with an [*OpenError]. A state file beside the
// database (path.state) keeps the outbox id and the last ticket seq, so a
// lost or replaced database continues the seq ([Store.Continuity]);
// [Store.CheckFile] notices a database deleted or replaced while running.
//
// Schema: the file records its version (PRAGMA user_version); Open
// migrates an older file forward in one transaction and refuses a newer
// one with a [*VersionError]. Uplinks ([Options.Uplinks],
// [outbox.Cursors]): with one, records.sent_at is its cursor; with several,
// the pending table holds each uplink's undelivered records and sent_at
// is set when the last uplink delivers.
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

// schemaVersion is the version this code writes (PRAGMA user_version,
// and the schema_version table that binaries before version 4 read); see
// migrate. Version 4 adds the per-uplink delivery cursors.
const schemaVersion = 4

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
	// Uplinks declares the uplinks with a delivery cursor each
	// ([outbox.Cursors]); empty means one, [outbox.DefaultUplink]. A cursor
	// in the file of an uplink not declared here is removed at Open.
	Uplinks []string
}

// CorruptError says the database at Path failed SQLite's checks (not a
// database, malformed, quick_check not ok) and was moved to MovedTo; the
// Store returned with it is a fresh, empty outbox (whose seq continues
// from the state file, see [Store.Continuity]).
type CorruptError struct {
	Path, MovedTo string
	Cause         error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("outbox %s is corrupt (%v): moved aside to %s, a fresh outbox was created; unsent events in the old file were NOT forwarded", e.Path, e.Cause, e.MovedTo)
}

func (e *CorruptError) Unwrap() error { return e.Cause }

// Store is the SQLite outbox. It implements [outbox.Outbox] and
// [outbox.TicketLister]. All methods are safe for concurrent use.
type Store struct {
	db        *sql.DB
	path      string
	now       func() time.Time
	log       *slog.Logger
	recovered *CorruptError
	id        string      // outbox id (meta table)
	uplinks   []string    // declared uplinks, each with a cursor
	file      os.FileInfo // the database file as opened, for CheckFile

	continuity *Continuity
	// stateMu guards the state file and what it last recorded.
	stateMu   sync.Mutex
	stateLast uint64   // last ticket seq committed
	stateSeq  uint64   // last ticket seq written to the state file
	stateErr  error    // the last state write's error, nil once one succeeds
	stateGen  uint64   // generation of the last slot written
	stateFile *os.File // the state file, open for in-place updates

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

// Open opens or creates the outbox at path.
//
// Only a file whose content is bad (not a database, malformed, failing
// PRAGMA quick_check) is moved aside: it is renamed to
// path.corrupt-<timestamp> (with its -wal and -shm files), the rename is
// logged at ERROR, a fresh database is created, and Open returns the new
// Store with a nil error; [Store.Recovered] reports what happened.
//
// Anything else — permission denied, a read-only filesystem, an I/O error,
// a missing directory, a database locked by another process — is returned
// as an [*OpenError] naming the path and the cause, and the file is left
// exactly as it is: its unsent events are not lost, and the caller must
// refuse to start.
//
// Open also reconciles the database with its state file (path.state, see
// [Store.Continuity]): a missing, moved-aside or replaced database
// continues the ticket seq after the last one the state file recorded.
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
	opts.Logger = log
	uplinks, err := outbox.CheckUplinks(opts.Uplinks)
	if err != nil {
		return nil, fmt.Errorf("outbox %s: %w", path, err)
	}
	opts.Uplinks = uplinks
	if err := preflight(path); err != nil {
		return nil, err
	}
	_, statErr := os.Lstat(path)
	existed := statErr == nil
	prev, err := readState(statePath(path))
	if err != nil {
		var oe *OpenError
		if errors.As(err, &oe) {
			return nil, err
		}
		log.Error("OUTBOX STATE FILE UNREADABLE: ignoring it; the seq continues from the database alone", "path", statePath(path), "err", err)
		prev = nil
	}
	s, err := open(path, opts)
	if err != nil && !isCorrupt(err) {
		return nil, refusal(path, err)
	}
	if err != nil {
		moved, mvErr := moveAside(path, opts.Now())
		if mvErr != nil {
			return nil, &OpenError{Path: path, Reason: fmt.Sprintf("corrupt (%v) and cannot be moved aside", err), Err: mvErr}
		}
		ce := &CorruptError{Path: path, MovedTo: moved, Cause: err}
		log.Error("OUTBOX CORRUPT: moved aside, starting a fresh outbox", "path", path, "moved_to", moved, "err", err)
		s, err = open(path, opts)
		if err != nil {
			return nil, fmt.Errorf("%v; and the fresh outbox failed: %w", ce, refusal(path, err))
		}
		s.recovered = ce
	}
	s.log = log
	if err := s.reconcile(prev, existed); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	if s.file, err = os.Stat(path); err != nil {
		return nil, errors.Join(refusal(path, err), s.Close())
	}
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
		if s.id != "" {
			s.noteSeq(0) // retries a state write that failed
		}
		s.stateMu.Lock()
		if s.stateFile != nil {
			s.stateFile.Close()
			s.stateFile = nil
		}
		s.stateMu.Unlock()
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
	db, err := sql.Open(driverName, "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	// One connection: SQLite has one writer anyway, and this keeps the
	// counter read-modify-write inside a single serialised transaction.
	db.SetMaxOpenConns(1)
	s := &Store{db: db, path: path, now: opts.Now, uplinks: opts.Uplinks, log: opts.Logger}
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

// driverName is mattn/go-sqlite3 with walPragmas run on every connection.
const driverName = "sqlite3_fenghuo_outbox"

// walPragmas bound the WAL file: a checkpoint every 256 pages (1 MiB with
// 4 KiB pages, instead of SQLite's 1000) and the file truncated back to
// 1 MiB after one, so the WAL beside a small outbox (buffer.max_size down
// to 1 MiB, on a small filesystem) stays about 1 MiB, flood or not.
const walPragmas = `PRAGMA wal_autocheckpoint = 256; PRAGMA journal_size_limit = 1048576;`

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec(walPragmas, nil)
		return err
	}})
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

// classify marks as corrupt the errors that mean the file's content is
// bad (not a database, malformed). Everything else — cannot open,
// permission, read-only, I/O error, busy or locked — is returned as is:
// the file may be perfectly good and must never be moved aside for it.
func classify(path string, err error) error {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code {
	case sqlite3.ErrCorrupt, sqlite3.ErrNotADB:
		return &corrupt{err}
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

// migrate creates or upgrades the schema in one transaction: a database
// of an older version is brought to schemaVersion or left untouched (the
// transaction rolls back); one of a newer version is refused.
func (s *Store) migrate() error {
	ctx := context.Background()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return classify(s.path, err)
	}
	defer rollback(tx)
	v, err := readVersion(ctx, tx)
	if err != nil {
		return classify(s.path, fmt.Errorf("outbox %s: reading its schema version: %w", s.path, err))
	}
	if v > schemaVersion {
		return &VersionError{Path: s.path, Version: v, Known: schemaVersion}
	}
	steps := []func(*sql.Tx) error{createV1, migrateV2, migrateV3, migrateV4}
	for i, step := range steps[v:] {
		if err := step(tx); err != nil {
			return classify(s.path, fmt.Errorf("outbox %s: migrating from schema version %d to %d: %w", s.path, v+i, v+i+1, err))
		}
	}
	// The history's keyset pages (HistoryPage) walk this index backwards.
	if _, err := tx.Exec(`CREATE INDEX IF NOT EXISTS records_history ON records (created_at, seq)`); err != nil {
		return classify(s.path, err)
	}
	if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d; DELETE FROM schema_version; INSERT INTO schema_version VALUES (%d)`, schemaVersion, schemaVersion)); err != nil {
		return classify(s.path, err)
	}
	if s.id, err = readID(ctx, tx); err != nil {
		return classify(s.path, fmt.Errorf("outbox %s: reading its id: %w", s.path, err))
	}
	if err := s.applyUplinks(ctx, tx); err != nil {
		return classify(s.path, err)
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

// migrateV3 adds the meta table with the outbox's random id (see
// state.go).
func migrateV3(tx *sql.Tx) error {
	const ddl = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
DELETE FROM schema_version;
INSERT INTO schema_version VALUES (3);`
	if _, err := tx.Exec(ddl); err != nil {
		return err
	}
	_, err := tx.Exec(`INSERT INTO meta VALUES ('outbox_id', ?)`, newOutboxID())
	return err
}

func rollback(tx *sql.Tx) {
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		slog.Default().Debug("outbox rollback", "err", err)
	}
}
