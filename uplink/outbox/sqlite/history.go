package sqlite

import (
	"context"
	"fmt"
	"slices"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

var _ outbox.Historian = (*Store)(nil)

// History implements [outbox.Historian]: the stored ticket records (the
// delivered ones are kept 30 days and at least the last 999, see
// [outbox.Retention]) in time order.
func (s *Store) History(ctx context.Context, q outbox.HistoryQuery) ([]outbox.Record, error) {
	where, args := "priority < 2", []any{}
	if !q.Since.IsZero() {
		where += " AND created_at >= ?"
		args = append(args, q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		where += " AND created_at < ?"
		args = append(args, q.Until.UnixNano())
	}
	if q.TicketID != "" {
		where += " AND ticket_id = ?"
		args = append(args, q.TicketID)
	}
	limit := -1 // SQLite: no limit
	if q.Limit > 0 {
		limit = q.Limit
	}
	// The newest Limit records, then turned back into time order.
	rows, err := s.db.QueryContext(ctx, `SELECT `+recordCols+` FROM records
		WHERE `+where+` ORDER BY created_at DESC, seq DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("outbox %s: history: %w", s.path, err)
	}
	recs, err := scanRecords(rows)
	if err != nil {
		return nil, fmt.Errorf("outbox %s: history: %w", s.path, err)
	}
	slices.Reverse(recs)
	return recs, nil
}
