package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// dialect is what differs between the SQL backends; the rules (ingest,
// seq tracking, orders, watchdog) are written once against database/sql
// with ? placeholders.
type dialect struct {
	name string
	// dollar rewrites ? placeholders to $1, $2 … (PostgreSQL).
	dollar bool
	// forUpdate ends a SELECT of a row the transaction will change: a row
	// lock where several writers share the database.
	forUpdate string
	// watchLock, when set, runs first in the watchdog's transaction so
	// that one verdict is applied at a time across instances.
	watchLock string
	// cleanText makes string arguments valid UTF-8 without NUL (what a
	// PostgreSQL text column accepts).
	cleanText bool
	// retry reports an error after which the whole transaction is run
	// again (deadlock, serialization failure).
	retry func(error) bool
}

var sqliteDialect = &dialect{name: "sqlite", retry: func(error) bool { return false }}

// maxAttempts bounds the runs of one transaction when retry says so.
const maxAttempts = 5

// sqlStore implements [Store] over database/sql for a dialect.
type sqlStore struct {
	db *sql.DB
	d  *dialect
	qs sync.Map // query text → rebound text
}

// Close closes the database.
func (s *sqlStore) Close() error { return s.db.Close() }

// txn is a transaction that rewrites queries for its dialect.
type txn struct {
	tx *sql.Tx
	d  *dialect
	s  *sqlStore
}

// Exec runs a statement in the transaction.
func (t *txn) Exec(q string, args ...any) (sql.Result, error) {
	return t.tx.Exec(t.s.rebind(q), t.s.args(args)...)
}

// QueryRow runs a query of one row in the transaction.
func (t *txn) QueryRow(q string, args ...any) *sql.Row {
	return t.tx.QueryRow(t.s.rebind(q), t.s.args(args)...)
}

// Query runs a query in the transaction.
func (t *txn) Query(q string, args ...any) (*sql.Rows, error) {
	return t.tx.Query(t.s.rebind(q), t.s.args(args)...)
}

func (s *sqlStore) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return s.db.QueryContext(ctx, s.rebind(q), s.args(args)...)
}

func (s *sqlStore) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return s.db.QueryRowContext(ctx, s.rebind(q), s.args(args)...)
}

func (s *sqlStore) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return s.db.ExecContext(ctx, s.rebind(q), s.args(args)...)
}

// rebind rewrites the ? placeholders of q (none of the store's queries
// has a ? inside a literal) for the dialect, once per query text.
func (s *sqlStore) rebind(q string) string {
	if !s.d.dollar {
		return q
	}
	if v, ok := s.qs.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r != '?' {
			b.WriteRune(r)
			continue
		}
		n++
		b.WriteString("$" + strconv.Itoa(n))
	}
	s.qs.Store(q, b.String())
	return b.String()
}

// args cleans string arguments for the dialect: a bad byte from the
// network must not fail the batch it arrived in.
func (s *sqlStore) args(args []any) []any {
	if !s.d.cleanText {
		return args
	}
	for i, a := range args {
		if v, ok := a.(string); ok && (!utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0) {
			args[i] = strings.ReplaceAll(strings.ToValidUTF8(v, "\uFFFD"), "\x00", "\uFFFD")
		}
	}
	return args
}

// tx runs f in one transaction and commits it; on an error the dialect
// calls transient (deadlock, serialization failure) it runs f again, up
// to maxAttempts times.
func (s *sqlStore) tx(ctx context.Context, f func(*txn) error) error {
	var err error
	for range maxAttempts {
		err = s.tx1(ctx, f)
		if err == nil || !s.d.retry(err) || ctx.Err() != nil {
			return err
		}
	}
	return fmt.Errorf("station store: %d attempts: %w", maxAttempts, err)
}

func (s *sqlStore) tx1(ctx context.Context, f func(*txn) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("station store: begin: %w", err)
	}
	if err := f(&txn{tx: tx, d: s.d, s: s}); err != nil {
		return errors.Join(err, tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("station store: commit: %w", err)
	}
	return nil
}
