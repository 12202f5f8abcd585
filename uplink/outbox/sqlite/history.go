package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

var _ interface {
	outbox.Historian
	outbox.HistoryPager
	outbox.LatestAcker
	outbox.FileChecker
} = (*Store)(nil)

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

// LatestAcks returns the newest acknowledgement of each of ticketIDs that
// has one, looked up in SQL ticket by ticket (never the whole acks table):
// what diag alarms and diag history show.
func (s *Store) LatestAcks(ctx context.Context, ticketIDs ...string) (map[string]outbox.Ack, error) {
	out := make(map[string]outbox.Ack, len(ticketIDs))
	const chunk = 500
	for len(ticketIDs) > 0 {
		ids := ticketIDs[:min(chunk, len(ticketIDs))]
		ticketIDs = ticketIDs[len(ids):]
		rows, err := s.db.QueryContext(ctx, `SELECT t.id, a.by_whom, a.at FROM (SELECT value AS id FROM json_each(?)) t
			JOIN acks a ON a.rowid = (SELECT b.rowid FROM acks b WHERE b.ticket_id = t.id ORDER BY b.at DESC, b.rowid DESC LIMIT 1)`,
			jsonArray(ids))
		if err != nil {
			return nil, fmt.Errorf("outbox %s: latest acks: %w", s.path, err)
		}
		for rows.Next() {
			var a outbox.Ack
			var at int64
			if err := rows.Scan(&a.TicketID, &a.By, &at); err != nil {
				rows.Close()
				return nil, fmt.Errorf("outbox %s: latest acks: %w", s.path, err)
			}
			a.At = time.Unix(0, at)
			out[a.TicketID] = a
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("outbox %s: latest acks: %w", s.path, err)
		}
	}
	return out, nil
}

// HistoryPage returns up to n ticket records q selects (q.Limit ignored),
// newest first, strictly older than before (the zero cursor: from the
// newest), WITHOUT their payloads: the SQL keyset pagination behind diag
// history, so a long history is read page by page and never whole.
func (s *Store) HistoryPage(ctx context.Context, q outbox.HistoryQuery, before outbox.HistoryCursor, n int) ([]outbox.Record, error) {
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
	if !before.CreatedAt.IsZero() {
		where += " AND (created_at, seq) < (?, ?)"
		args = append(args, before.CreatedAt.UnixNano(), int64(before.Seq))
	}
	if n <= 0 {
		n = 500
	}
	rows, err := s.db.QueryContext(ctx, `SELECT seq, event_id, ticket_id, state, hazard, rule, device, level, priority, x'', created_at, sent_at
		FROM records WHERE `+where+` ORDER BY created_at DESC, seq DESC LIMIT ?`, append(args, n)...)
	if err != nil {
		return nil, fmt.Errorf("outbox %s: history: %w", s.path, err)
	}
	recs, err := scanRecords(rows)
	if err != nil {
		return nil, fmt.Errorf("outbox %s: history: %w", s.path, err)
	}
	return recs, nil
}

// jsonArray marshals ids as a JSON array of strings.
func jsonArray(ids []string) string {
	b, _ := json.Marshal(ids)
	return string(b)
}
