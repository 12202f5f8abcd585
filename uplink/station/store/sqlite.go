package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	_ "github.com/mattn/go-sqlite3" // the SQLite driver
)

// SQLite is the SQLite backend of [Store]: one file in WAL mode with
// synchronous=FULL, one connection (SQLite has one writer anyway). Safe for
// concurrent use.
type SQLite struct {
	db *sql.DB
}

var _ Store = (*SQLite)(nil)

// OpenSQLite opens (creating if needed) the station database at path.
func OpenSQLite(path string) (*SQLite, error) {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_busy_timeout", "5000")
	q.Set("_txlock", "immediate")
	q.Set("_foreign_keys", "1")
	q.Set("_stmt_cache_size", "64") // the hot statements are prepared once
	db, err := sql.Open("sqlite3", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("station store %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		return nil, errors.Join(fmt.Errorf("station store %s: create tables: %w", path, err), db.Close())
	}
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		return nil, errors.Join(fmt.Errorf("station store %s: journal_mode is %q, want wal (%v)", path, mode, err), db.Close())
	}
	return &SQLite{db: db}, nil
}

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }

const schema = `
CREATE TABLE IF NOT EXISTS events(
  id INTEGER PRIMARY KEY,
  event_id TEXT NOT NULL UNIQUE,
  township TEXT NOT NULL, gateway TEXT NOT NULL, seq INTEGER NOT NULL,
  ticket_id TEXT NOT NULL, state TEXT NOT NULL, hazard TEXT NOT NULL, level INTEGER NOT NULL,
  label_zh TEXT NOT NULL, device TEXT NOT NULL, occurred_at TEXT NOT NULL,
  received_ms INTEGER NOT NULL, payload BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS events_ticket ON events(ticket_id, seq);
CREATE INDEX IF NOT EXISTS events_rx ON events(received_ms);
CREATE TABLE IF NOT EXISTS rejected(id INTEGER PRIMARY KEY, topic TEXT NOT NULL,
  received_ms INTEGER NOT NULL, reason TEXT NOT NULL, payload BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS seqs(gateway TEXT NOT NULL, seq INTEGER NOT NULL,
  dropped INTEGER NOT NULL, PRIMARY KEY(gateway, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS gaps(id INTEGER PRIMARY KEY, gateway TEXT NOT NULL, township TEXT NOT NULL,
  from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL, left_count INTEGER NOT NULL,
  opened_ms INTEGER NOT NULL, closed_ms INTEGER);
CREATE INDEX IF NOT EXISTS gaps_open ON gaps(gateway, from_seq) WHERE closed_ms IS NULL;
CREATE TABLE IF NOT EXISTS gateways(id TEXT PRIMARY KEY, township TEXT NOT NULL,
  lo_seq INTEGER, hi_seq INTEGER, state TEXT NOT NULL DEFAULT '', status_rx_ms INTEGER NOT NULL DEFAULT 0,
  status_at TEXT NOT NULL DEFAULT '', buffer_depth INTEGER NOT NULL DEFAULT 0, version TEXT NOT NULL DEFAULT '',
  events INTEGER NOT NULL DEFAULT 0, dropped INTEGER NOT NULL DEFAULT 0,
  telemetry INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS orders(id INTEGER PRIMARY KEY, ticket_id TEXT NOT NULL UNIQUE,
  origin TEXT NOT NULL, township TEXT NOT NULL, gateway TEXT NOT NULL, hazard TEXT NOT NULL,
  label_zh TEXT NOT NULL, label_en TEXT NOT NULL, level INTEGER NOT NULL, device TEXT NOT NULL,
  site TEXT NOT NULL, location TEXT NOT NULL, status TEXT NOT NULL, cleared INTEGER NOT NULL DEFAULT 0,
  last_state TEXT NOT NULL, missing_events INTEGER NOT NULL DEFAULT 0, detail TEXT NOT NULL DEFAULT '',
  opened_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, closed_ms INTEGER);
CREATE INDEX IF NOT EXISTS orders_open ON orders(level, opened_ms) WHERE closed_ms IS NULL;
CREATE TABLE IF NOT EXISTS steps(id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id),
  action TEXT NOT NULL, from_status TEXT NOT NULL, to_status TEXT NOT NULL, by TEXT NOT NULL,
  at_ms INTEGER NOT NULL, note TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS steps_order ON steps(order_id, id);
CREATE TABLE IF NOT EXISTS users(name TEXT PRIMARY KEY, hash TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS secrets(hash TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(name),
  kind TEXT NOT NULL, csrf TEXT NOT NULL, expires_ms INTEGER NOT NULL);
`

// tx runs f in one transaction and commits it.
func (s *SQLite) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("station store: begin: %w", err)
	}
	if err := f(tx); err != nil {
		return errors.Join(err, tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("station store: commit: %w", err)
	}
	return nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v) }

// bump adds n to a named counter.
func bump(tx *sql.Tx, name string, n int64) error {
	_, err := tx.Exec(`INSERT INTO counters(name, n) VALUES(?, ?) ON CONFLICT(name) DO UPDATE SET n = n + excluded.n`, name, n)
	return err
}
