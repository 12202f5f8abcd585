package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// migrateV4 adds the per-uplink delivery cursors (the pending table).
//
// With one declared uplink (the default) its cursor is records.sent_at
// itself, as before version 4, and the pending table stays empty: the
// single-uplink outbox costs what it did. With several, pending holds one
// row per uplink and record that uplink has not delivered yet, and
// records.sent_at is set when the last of them delivers it (what
// eviction, Prune and the records floor count). applyUplinks moves
// between the two forms when the declared uplinks change.
func migrateV4(tx *sql.Tx) error {
	const ddl = `
CREATE TABLE pending (
	seq      INTEGER NOT NULL,
	uplink   TEXT NOT NULL,
	priority INTEGER NOT NULL,
	PRIMARY KEY (seq, uplink)
) WITHOUT ROWID;
CREATE INDEX pending_order ON pending (uplink, priority, seq);
CREATE TRIGGER records_delete_pending AFTER DELETE ON records
BEGIN DELETE FROM pending WHERE seq = old.seq; END;`
	_, err := tx.Exec(ddl)
	return err
}

// sentCounter is the counters row of an uplink's deliveries.
func sentCounter(uplink string) string { return "sent:" + uplink }

// multi reports whether the store keeps its cursors in the pending table.
func (s *Store) multi() bool { return len(s.uplinks) > 1 }

// applyUplinks brings the cursors in the file (those of the uplinks
// declared at the last open, meta "uplinks") to the uplinks declared now:
// a cursor of an uplink no longer declared is removed, so it never pins
// records nor raises R25 (logged with what it had not delivered); a newly
// declared uplink starts with no backlog; the records no declared uplink
// still lacks are delivered.
func (s *Store) applyUplinks(ctx context.Context, tx *sql.Tx) error {
	prev, err := readUplinks(ctx, tx)
	if err != nil {
		return fmt.Errorf("outbox %s: reading the declared uplinks: %w", s.path, err)
	}
	if len(prev) == 1 && slices.Equal(prev, s.uplinks) {
		return nil // one uplink, unchanged: records.sent_at is its cursor
	}
	if len(prev) == 1 && slices.Contains(s.uplinks, prev[0]) {
		if err := s.toRows(ctx, tx, prev[0]); err != nil {
			return err
		}
	}
	if err := s.dropUndeclared(ctx, tx, prev); err != nil {
		return err
	}
	if _, err := s.settle(ctx, tx, s.now(), ""); err != nil {
		return err
	}
	if !s.multi() {
		if _, err := tx.ExecContext(ctx, `DELETE FROM pending`); err != nil {
			return fmt.Errorf("outbox %s: cursors: %w", s.path, err)
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO meta VALUES ('uplinks', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, strings.Join(s.uplinks, ","))
	return err
}

// readUplinks returns the uplinks declared at the last open (before any:
// [outbox.DefaultUplink], the one cursor of versions before 4).
func readUplinks(ctx context.Context, tx *sql.Tx) ([]string, error) {
	var v string
	err := tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'uplinks'`).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return []string{outbox.DefaultUplink}, nil
	case err != nil:
		return nil, err
	}
	return strings.Split(v, ","), nil
}

// toRows turns the single uplink's cursor (records.sent_at) into its
// pending rows, and starts its sent counter at the outbox's.
func (s *Store) toRows(ctx context.Context, tx *sql.Tx, uplink string) error {
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO pending (seq, uplink, priority)
		SELECT seq, ?, priority FROM records WHERE sent_at IS NULL`, uplink); err != nil {
		return fmt.Errorf("outbox %s: cursor of uplink %s: %w", s.path, uplink, err)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO counters SELECT ?, value FROM counters WHERE name = 'sent'
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`, sentCounter(uplink))
	return err
}

// dropUndeclared removes the cursors of the uplinks in prev no longer
// declared, and logs what each had not delivered.
func (s *Store) dropUndeclared(ctx context.Context, tx *sql.Tx, prev []string) error {
	for _, u := range prev {
		if slices.Contains(s.uplinks, u) {
			continue
		}
		q := `SELECT count(*) FROM pending WHERE uplink = ?`
		if len(prev) == 1 { // its cursor is records.sent_at
			q = `SELECT count(*) FROM records WHERE sent_at IS NULL AND ? != ''`
		}
		var n int
		if err := tx.QueryRowContext(ctx, q, u).Scan(&n); err != nil {
			return fmt.Errorf("outbox %s: cursor of uplink %s: %w", s.path, u, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM pending WHERE uplink = ?`, u); err != nil {
			return fmt.Errorf("outbox %s: removing the cursor of uplink %s: %w", s.path, u, err)
		}
		s.log.Warn("outbox: an uplink with a delivery cursor is no longer configured; its cursor is removed and the events it had not delivered will never be sent to it",
			"path", s.path, "uplink", u, "undelivered", n, "declared", strings.Join(s.uplinks, ","))
	}
	return nil
}

// settle sets sent_at on the records (all, or those in seqIn) that no
// uplink still has to deliver, and counts them in the sent counter.
func (s *Store) settle(ctx context.Context, tx *sql.Tx, at time.Time, seqIn string, seqs ...any) (int64, error) {
	where := ""
	if seqIn != "" {
		where = ` AND seq IN (` + seqIn + `)`
	}
	res, err := tx.ExecContext(ctx, `UPDATE records SET sent_at = ? WHERE sent_at IS NULL`+where+`
		AND NOT EXISTS (SELECT 1 FROM pending p WHERE p.seq = records.seq)`, append([]any{at.UnixNano()}, seqs...)...)
	if err != nil {
		return 0, fmt.Errorf("outbox %s: mark sent: %w", s.path, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE counters SET value = value + ? WHERE name = 'sent'`, n); err != nil {
		return 0, fmt.Errorf("outbox %s: mark sent: %w", s.path, err)
	}
	return n, nil
}

// inList returns "?,?,…" and the arguments for the values.
func inList[T any](vals []T) (string, []any) {
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return strings.TrimSuffix(strings.Repeat("?,", len(vals)), ","), args
}

// addPending queues the record (seq, priority) for every declared uplink
// (with one uplink, records.sent_at is its cursor: nothing to add).
func (s *Store) addPending(ctx context.Context, stmt *sql.Stmt, seq uint64, priority int) error {
	if !s.multi() {
		return nil
	}
	for _, u := range s.uplinks {
		if _, err := stmt.ExecContext(ctx, int64(seq), u, priority); err != nil {
			return err
		}
	}
	return nil
}

const insertPending = `INSERT OR IGNORE INTO pending (seq, uplink, priority) VALUES (?, ?, ?)`

// Uplinks implements [outbox.Cursors].
func (s *Store) Uplinks() []string { return slices.Clone(s.uplinks) }

// Uplink implements [outbox.Cursors].
func (s *Store) Uplink(name string) (outbox.Outbox, error) {
	if !slices.Contains(s.uplinks, name) {
		return nil, fmt.Errorf("outbox %s: uplink %q is not declared (declared: %q)", s.path, name, s.uplinks)
	}
	if !s.multi() {
		return s, nil
	}
	return &uplinkView{s: s, name: name}, nil
}

// uplinkView is one uplink's cursor of a [Store].
type uplinkView struct {
	s    *Store
	name string
}

func (v *uplinkView) Append(ctx context.Context, recs ...outbox.Record) ([]outbox.Record, error) {
	return v.s.Append(ctx, recs...)
}

// Pending lists the records this uplink has not delivered, by priority
// then seq.
func (v *uplinkView) Pending(ctx context.Context, max int) ([]outbox.Record, error) {
	if max <= 0 {
		max = -1
	}
	rows, err := v.s.db.QueryContext(ctx, `SELECT r.`+strings.ReplaceAll(recordCols, ", ", ", r.")+`
		FROM pending p JOIN records r ON r.seq = p.seq
		WHERE p.uplink = ? ORDER BY p.priority, p.seq LIMIT ?`, v.name, max)
	if err != nil {
		return nil, fmt.Errorf("outbox %s: pending of uplink %s: %w", v.s.path, v.name, err)
	}
	recs, err := scanRecords(rows)
	for i := range recs {
		recs[i].SentAt = time.Time{} // delivered by the others, not by this one
	}
	return recs, err
}

// MarkSent records this uplink's delivery of seqs; a record every uplink
// has delivered gets its sent_at.
func (v *uplinkView) MarkSent(ctx context.Context, at time.Time, seqs ...uint64) error {
	return v.s.markSent(ctx, []string{v.name}, at, seqs)
}

// Stats is this uplink's depth, oldest unsent records and deliveries,
// with the outbox's seq and drop counters.
func (v *uplinkView) Stats(ctx context.Context) (outbox.Stats, error) {
	var r statsRow
	err := v.s.db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM pending WHERE uplink = ?1),
		(SELECT min(r.created_at) FROM pending p JOIN records r ON r.seq = p.seq WHERE p.uplink = ?1),
		(SELECT min(r.created_at) FROM pending p JOIN records r ON r.seq = p.seq WHERE p.uplink = ?1 AND p.priority < 2),
		(SELECT value FROM counters WHERE name = 'ticket'),
		coalesce((SELECT value FROM counters WHERE name = ?2), 0),
		(SELECT value FROM counters WHERE name = 'dropped_tickets'),
		(SELECT value FROM counters WHERE name = 'dropped_telemetry')`, v.name, sentCounter(v.name)).
		Scan(r.dest()...)
	if err != nil {
		return outbox.Stats{}, fmt.Errorf("outbox %s: stats of uplink %s: %w", v.s.path, v.name, err)
	}
	return r.stats(), nil
}

// markSent deletes the pending rows of seqs for the uplinks, counts each
// uplink's deliveries, and settles the records no uplink still lacks.
func (s *Store) markSent(ctx context.Context, uplinks []string, at time.Time, seqs []uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	in, args := inList(seqs)
	for i := range args {
		args[i] = int64(seqs[i])
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("outbox %s: mark sent: %w", s.path, err)
	}
	defer rollback(tx)
	for _, u := range uplinks {
		if !s.multi() {
			break // records.sent_at is the one cursor
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM pending WHERE uplink = ? AND seq IN (`+in+`)`, append([]any{u}, args...)...)
		if err != nil {
			return fmt.Errorf("outbox %s: mark sent (uplink %s): %w", s.path, u, err)
		}
		n, _ := res.RowsAffected()
		if _, err := tx.ExecContext(ctx, `INSERT INTO counters VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET value = value + excluded.value`, sentCounter(u), n); err != nil {
			return fmt.Errorf("outbox %s: mark sent (uplink %s): %w", s.path, u, err)
		}
	}
	if _, err := s.settle(ctx, tx, at, in, args...); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("outbox %s: mark sent: commit: %w", s.path, err)
	}
	return nil
}
