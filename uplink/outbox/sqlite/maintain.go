package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

var _ interface {
	outbox.Acker
	outbox.Maintainer
} = (*Store)(nil)

// openLatest is the last record of every open ticket: the record a
// restarted rule engine restores from, never pruned or evicted.
const openLatest = `
	SELECT r.seq FROM records r JOIN (
		SELECT max(seq) AS seq FROM records
		WHERE priority < 2 AND state NOT IN ('test', 'dropped') GROUP BY ticket_id) m ON r.seq = m.seq
	WHERE r.state IN ('open', 'escalate')`

// Prune implements [outbox.Maintainer]: delivered ticket records older than
// r.Tickets and beyond the newest r.KeepTickets delivered ones, and
// delivered telemetry older than r.Telemetry, are deleted. Unsent records
// and the latest record of an open ticket are never pruned.
func (s *Store) Prune(ctx context.Context, now time.Time, r outbox.Retention) (int, error) {
	if r.Tickets <= 0 {
		r.Tickets = outbox.DefaultRetention.Tickets
	}
	if r.KeepTickets <= 0 {
		r.KeepTickets = outbox.DefaultRetention.KeepTickets
	}
	if r.Telemetry <= 0 {
		r.Telemetry = outbox.DefaultRetention.Telemetry
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("outbox prune: %w", err)
	}
	defer rollback(tx)
	res, err := tx.ExecContext(ctx, `DELETE FROM records WHERE priority < 2 AND sent_at IS NOT NULL
		AND created_at < ?
		AND seq < coalesce((SELECT seq FROM records WHERE priority < 2 AND sent_at IS NOT NULL
			ORDER BY seq DESC LIMIT 1 OFFSET ?), 0)
		AND seq NOT IN (`+openLatest+`)`, now.Add(-r.Tickets).UnixNano(), r.KeepTickets-1)
	if err != nil {
		return 0, fmt.Errorf("outbox prune tickets: %w", err)
	}
	nt, _ := res.RowsAffected()
	res, err = tx.ExecContext(ctx, `DELETE FROM records WHERE priority = 2 AND sent_at IS NOT NULL AND created_at < ?`,
		now.Add(-r.Telemetry).UnixNano())
	if err != nil {
		return 0, fmt.Errorf("outbox prune telemetry: %w", err)
	}
	nm, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, orphanAcks); err != nil {
		return 0, fmt.Errorf("outbox prune acks: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("outbox prune: commit: %w", err)
	}
	return int(nt + nm), nil
}

// Size is the bytes the records and acks take, as bounded by MaxSize:
// payloads plus an estimated rowOverhead per record (columns, indexes),
// and the acks' text plus ackOverhead each. The file itself may be larger
// until SQLite reuses the pages freed by eviction (it reuses them before
// growing the file).
func (s *Store) Size(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT coalesce(sum(length(payload)), 0) + count(*) * ? FROM records) +
		(SELECT coalesce(sum(2 * length(ticket_id) + length(by_whom)), 0) + count(*) * ? FROM acks)`,
		rowOverhead, ackOverhead).Scan(&n); err != nil {
		return 0, fmt.Errorf("outbox size: %w", err)
	}
	return n, nil
}

// rowOverhead is the estimated bytes of a record beyond its payload
// (columns, indexes).
const rowOverhead = 160
