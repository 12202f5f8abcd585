package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// migrateV4 adds the per-uplink delivery cursors: one row in pending per
// uplink and record that uplink has not delivered yet. The records still
// unsent become the pending rows of [outbox.DefaultUplink], whose sent
// counter starts at the outbox's. records.sent_at is from now on set when
// the last uplink delivers the record.
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
	if _, err := tx.Exec(ddl); err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT INTO pending (seq, uplink, priority)
		SELECT seq, ?, priority FROM records WHERE sent_at IS NULL`, outbox.DefaultUplink); err != nil {
		return err
	}
	_, err := tx.Exec(`INSERT OR IGNORE INTO counters
		SELECT ?, value FROM counters WHERE name = 'sent'`, sentCounter(outbox.DefaultUplink))
	return err
}

// sentCounter is the counters row of an uplink's deliveries.
func sentCounter(uplink string) string { return "sent:" + uplink }

// dropUndeclared removes the cursors of uplinks no longer declared (so a
// removed uplink never pins records nor raises R25) and marks delivered
// the records no declared uplink still has to send.
func (s *Store) dropUndeclared(ctx context.Context, tx *sql.Tx) error {
	in, args := inList(s.uplinks)
	rows, err := tx.QueryContext(ctx, `SELECT uplink, count(*) FROM pending WHERE uplink NOT IN (`+in+`) GROUP BY uplink`, args...)
	if err != nil {
		return fmt.Errorf("outbox %s: reading the cursors: %w", s.path, err)
	}
	dropped := map[string]int{}
	for rows.Next() {
		var u string
		var n int
		if err := rows.Scan(&u, &n); err != nil {
			rows.Close()
			return fmt.Errorf("outbox %s: reading the cursors: %w", s.path, err)
		}
		dropped[u] = n
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if len(dropped) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM pending WHERE uplink NOT IN (`+in+`)`, args...); err != nil {
		return fmt.Errorf("outbox %s: removing the cursors of undeclared uplinks: %w", s.path, err)
	}
	n, err := s.settle(ctx, tx, s.now(), "")
	if err != nil {
		return err
	}
	for u, c := range dropped {
		s.log.Warn("outbox: an uplink with a delivery cursor is no longer configured; its cursor is removed and the events it had not delivered will never be sent to it",
			"path", s.path, "uplink", u, "undelivered", c, "now_delivered_by_all", n)
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

// addPending queues the record (seq, priority) for every declared uplink.
func (s *Store) addPending(ctx context.Context, stmt *sql.Stmt, seq uint64, priority int) error {
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
	var st outbox.Stats
	var oldest, oldestTicket sql.NullInt64
	var last, sent, dt, dm int64
	err := v.s.db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM pending WHERE uplink = ?1),
		(SELECT min(r.created_at) FROM pending p JOIN records r ON r.seq = p.seq WHERE p.uplink = ?1),
		(SELECT min(r.created_at) FROM pending p JOIN records r ON r.seq = p.seq WHERE p.uplink = ?1 AND p.priority < 2),
		(SELECT value FROM counters WHERE name = 'ticket'),
		coalesce((SELECT value FROM counters WHERE name = ?2), 0),
		(SELECT value FROM counters WHERE name = 'dropped_tickets'),
		(SELECT value FROM counters WHERE name = 'dropped_telemetry')`, v.name, sentCounter(v.name)).
		Scan(&st.Depth, &oldest, &oldestTicket, &last, &sent, &dt, &dm)
	if err != nil {
		return st, fmt.Errorf("outbox %s: stats of uplink %s: %w", v.s.path, v.name, err)
	}
	if oldest.Valid {
		st.OldestUnsent = time.Unix(0, oldest.Int64)
	}
	if oldestTicket.Valid {
		st.OldestUnsentTicket = time.Unix(0, oldestTicket.Int64)
	}
	st.DroppedTickets, st.DroppedTelemetry = uint64(dt), uint64(dm)
	st.LastSeq, st.Sent = uint64(last), uint64(sent)
	return st, nil
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
