package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

const recordCols = `seq, event_id, ticket_id, state, hazard, rule, device, level, priority, payload, created_at, sent_at`

// Append implements [outbox.Outbox]: one IMMEDIATE transaction assigns the
// seqs from the counters and inserts every record; it returns after the
// commit is on disk (synchronous=FULL). With group commit (the default) the
// transaction may also hold the records of other Appends queued at the
// same time; a failure fails all of them and commits none. Once queued, an
// Append waits for its batch even if ctx is cancelled, so a nil error
// always means the records are durable and an error means they are not.
func (s *Store) Append(ctx context.Context, recs ...outbox.Record) ([]outbox.Record, error) {
	out, err := s.appendOrQueue(ctx, recs)
	var se sqlite3.Error
	if err != nil && errors.As(err, &se) && se.Code == sqlite3.ErrFull {
		return nil, fmt.Errorf("outbox %s: %w: %w", s.path, outbox.ErrFull, err)
	}
	return out, err
}

func (s *Store) appendOrQueue(ctx context.Context, recs []outbox.Record) ([]outbox.Record, error) {
	if err := outbox.Validate(recs); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("outbox append: %w", err)
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, fmt.Errorf("outbox %s: append: %w", s.path, outbox.ErrClosed)
	}
	if s.appends == nil {
		defer s.mu.RUnlock() // Close waits for this transaction
		return s.commit(ctx, recs)
	}
	req := &appendReq{ctx: ctx, recs: recs, done: make(chan appendResult, 1)}
	s.appends <- req
	s.mu.RUnlock()
	res := <-req.done
	return res.recs, res.err
}

// commit appends recs in one transaction.
func (s *Store) commit(ctx context.Context, recs []outbox.Record) ([]outbox.Record, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("outbox append: %w", err)
	}
	defer rollback(tx)
	var ticket, telem uint64
	if err := tx.QueryRowContext(ctx, `SELECT
		(SELECT value FROM counters WHERE name = 'ticket'),
		(SELECT value FROM counters WHERE name = 'telemetry')`).Scan(&ticket, &telem); err != nil {
		return nil, fmt.Errorf("outbox append: read counters: %w", err)
	}
	out, err := s.insert(ctx, tx, recs, &ticket, &telem)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE counters SET value = CASE name WHEN 'ticket' THEN ? WHEN 'telemetry' THEN ? ELSE value END`, ticket, telem); err != nil {
		return nil, fmt.Errorf("outbox append: update counters: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("outbox append: commit: %w", err)
	}
	s.noteSeq(ticket)
	return out, nil
}

func (s *Store) insert(ctx context.Context, tx *sql.Tx, recs []outbox.Record, ticket, telem *uint64) ([]outbox.Record, error) {
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO records (`+recordCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,NULL)`)
	if err != nil {
		return nil, fmt.Errorf("outbox append: %w", err)
	}
	defer stmt.Close()
	pend, err := tx.PrepareContext(ctx, insertPending)
	if err != nil {
		return nil, fmt.Errorf("outbox append: %w", err)
	}
	defer pend.Close()
	now := s.now()
	out := make([]outbox.Record, len(recs))
	for i, r := range recs {
		if r.CreatedAt.IsZero() {
			r.CreatedAt = now
		}
		r.SentAt = time.Time{}
		if r.IsTicket() {
			*ticket++
			r.Seq = *ticket
		} else {
			*telem++
			r.Seq = outbox.TelemetrySeqBase + *telem
		}
		if _, err := stmt.ExecContext(ctx, int64(r.Seq), r.EventID, r.TicketID, r.State, r.Hazard, r.Rule,
			r.Device, r.Level, r.Priority, r.Payload, r.CreatedAt.UnixNano()); err != nil {
			return nil, fmt.Errorf("outbox append: record %s: %w", r.EventID, err)
		}
		if err := s.addPending(ctx, pend, r.Seq, r.Priority); err != nil {
			return nil, fmt.Errorf("outbox append: record %s: cursors: %w", r.EventID, err)
		}
		out[i] = r
	}
	return out, nil
}

// Pending implements [outbox.Outbox].
func (s *Store) Pending(ctx context.Context, max int) ([]outbox.Record, error) {
	if max <= 0 {
		max = -1 // SQLite: no limit
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+recordCols+` FROM records
		WHERE sent_at IS NULL ORDER BY priority, seq LIMIT ?`, max)
	if err != nil {
		return nil, fmt.Errorf("outbox pending: %w", err)
	}
	return scanRecords(rows)
}

// MarkSent implements [outbox.Outbox]: the records are delivered for
// every declared uplink ([Store.Uplink] marks one uplink's).
func (s *Store) MarkSent(ctx context.Context, at time.Time, seqs ...uint64) error {
	return s.markSent(ctx, s.uplinks, at, seqs)
}

// Stats implements [outbox.Outbox].
func (s *Store) Stats(ctx context.Context) (outbox.Stats, error) {
	var r statsRow
	err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM records WHERE sent_at IS NULL),
		(SELECT min(created_at) FROM records WHERE sent_at IS NULL),
		(SELECT min(created_at) FROM records WHERE sent_at IS NULL AND priority < 2),
		(SELECT value FROM counters WHERE name = 'ticket'),
		(SELECT value FROM counters WHERE name = 'sent'),
		(SELECT value FROM counters WHERE name = 'dropped_tickets'),
		(SELECT value FROM counters WHERE name = 'dropped_telemetry')`).Scan(r.dest()...)
	if err != nil {
		return outbox.Stats{}, fmt.Errorf("outbox stats: %w", err)
	}
	return r.stats(), nil
}

// statsRow is the row both Stats queries select: depth, oldest unsent
// (any, ticket), last ticket seq, sent, dropped tickets and telemetry.
type statsRow struct {
	depth                int
	oldest, oldestTicket sql.NullInt64
	last, sent, dt, dm   int64
}

func (r *statsRow) dest() []any {
	return []any{&r.depth, &r.oldest, &r.oldestTicket, &r.last, &r.sent, &r.dt, &r.dm}
}

func (r *statsRow) stats() outbox.Stats {
	st := outbox.Stats{Depth: r.depth, LastSeq: uint64(r.last), Sent: uint64(r.sent),
		DroppedTickets: uint64(r.dt), DroppedTelemetry: uint64(r.dm)}
	if r.oldest.Valid {
		st.OldestUnsent = time.Unix(0, r.oldest.Int64)
	}
	if r.oldestTicket.Valid {
		st.OldestUnsentTicket = time.Unix(0, r.oldestTicket.Int64)
	}
	return st
}

// OpenTickets implements [outbox.TicketLister]: tickets whose last event
// (ignoring test and dropped) is open or escalate.
func (s *Store) OpenTickets(ctx context.Context) ([]outbox.OpenTicket, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+recordCols+` FROM records
		WHERE priority < 2 AND ticket_id IN (
			SELECT DISTINCT ticket_id FROM records WHERE state IN ('open', 'escalate') AND priority < 2)
		ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("outbox open tickets: %w", err)
	}
	recs, err := scanRecords(rows)
	if err != nil {
		return nil, err
	}
	return outbox.OpenFromHistory(recs), nil
}

func scanRecords(rows *sql.Rows) ([]outbox.Record, error) {
	defer rows.Close()
	var out []outbox.Record
	for rows.Next() {
		var r outbox.Record
		var seq, created int64
		var sent sql.NullInt64
		if err := rows.Scan(&seq, &r.EventID, &r.TicketID, &r.State, &r.Hazard, &r.Rule, &r.Device,
			&r.Level, &r.Priority, &r.Payload, &created, &sent); err != nil {
			return nil, fmt.Errorf("outbox: scan: %w", err)
		}
		r.Seq, r.CreatedAt = uint64(seq), time.Unix(0, created)
		if sent.Valid {
			r.SentAt = time.Unix(0, sent.Int64)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
