package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Gateways implements [Records]: every gateway heard of, by id, with its
// open gaps.
func (s *SQLite) Gateways(ctx context.Context) ([]Gateway, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, township, state, status_rx_ms, status_at, buffer_depth, version,
		events, dropped, telemetry, coalesce(hi_seq, 0) FROM gateways ORDER BY id`)
	if err != nil {
		return nil, err
	}
	var out []Gateway
	for rows.Next() {
		var g Gateway
		var rx int64
		if err := rows.Scan(&g.ID, &g.Township, &g.State, &rx, &g.StatusAt, &g.BufferDepth, &g.Version,
			&g.Events, &g.Dropped, &g.Telemetry, &g.HiSeq); err != nil {
			rows.Close()
			return nil, err
		}
		if rx != 0 {
			g.LastStatus = fromMS(rx)
		}
		out = append(out, g)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	gaps, err := s.openGaps(ctx)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].OpenGaps = gaps[out[i].ID]
	}
	return out, nil
}

func (s *SQLite) openGaps(ctx context.Context) (map[string][]Gap, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, gateway, township, from_seq, to_seq, left_count, opened_ms
		FROM gaps WHERE closed_ms IS NULL ORDER BY gateway, from_seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]Gap{}
	for rows.Next() {
		var g Gap
		var opened int64
		if err := rows.Scan(&g.ID, &g.Gateway, &g.Township, &g.From, &g.To, &g.Left, &opened); err != nil {
			return nil, err
		}
		g.OpenedAt = fromMS(opened)
		out[g.Gateway] = append(out[g.Gateway], g)
	}
	return out, rows.Err()
}

// MaxHistory is the most events one History call returns.
const MaxHistory = 10_000

// History implements [Records]: events by receipt time, newest first.
func (s *SQLite) History(ctx context.Context, f Filter) ([]Event, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.Township != "" {
		add("township = ?", f.Township)
	}
	if f.Gateway != "" {
		add("gateway = ?", f.Gateway)
	}
	if f.Hazard != "" {
		add("hazard = ?", f.Hazard)
	}
	if f.Level != 0 {
		add("level = ?", f.Level)
	}
	if !f.From.IsZero() {
		add("received_ms >= ?", ms(f.From))
	}
	if !f.To.IsZero() {
		add("received_ms < ?", ms(f.To))
	}
	limit := f.Limit
	if limit <= 0 || limit > MaxHistory {
		limit = MaxHistory
	}
	q := ""
	if len(where) > 0 {
		q = "WHERE " + strings.Join(where, " AND ")
	}
	return s.queryEvents(ctx, q+fmt.Sprintf(" ORDER BY received_ms DESC, id DESC LIMIT %d", limit), args...)
}

func (s *SQLite) queryEvents(ctx context.Context, tail string, args ...any) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT event_id, ticket_id, township, gateway, seq, state, hazard, label_zh, level,
		device, occurred_at, received_ms, payload FROM events `+tail, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var rx int64
		if err := rows.Scan(&e.EventID, &e.TicketID, &e.Township, &e.Gateway, &e.Seq, &e.State, &e.Hazard, &e.LabelZh,
			&e.Level, &e.Device, &e.OccurredAt, &rx, &e.Payload); err != nil {
			return nil, err
		}
		e.ReceivedAt = fromMS(rx)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Counts implements [Records].
func (s *SQLite) Counts(ctx context.Context) (Counts, error) {
	var c Counts
	err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM events),
		(SELECT coalesce(sum(n), 0) FROM counters WHERE name = 'duplicates'),
		(SELECT coalesce(sum(n), 0) FROM counters WHERE name = 'rejected'),
		(SELECT count(*) FROM events WHERE state = 'dropped'),
		(SELECT count(*) FROM gaps WHERE closed_ms IS NULL),
		(SELECT count(*) FROM orders WHERE closed_ms IS NULL)`).
		Scan(&c.Events, &c.Duplicates, &c.Rejected, &c.Tombstones, &c.OpenGaps, &c.OpenOrders)
	return c, err
}

// Rejected implements [Records] (at most MaxHistory).
func (s *SQLite) Rejected(ctx context.Context, limit int) ([]RejectedMessage, error) {
	if limit <= 0 || limit > MaxHistory {
		limit = MaxHistory
	}
	rows, err := s.db.QueryContext(ctx, `SELECT topic, received_ms, reason, length(payload) FROM rejected ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RejectedMessage
	for rows.Next() {
		var m RejectedMessage
		var rx int64
		if err := rows.Scan(&m.Topic, &rx, &m.Reason, &m.Size); err != nil {
			return nil, err
		}
		m.ReceivedAt = fromMS(rx)
		out = append(out, m)
	}
	return out, rows.Err()
}
