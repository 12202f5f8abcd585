package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/mattn/go-sqlite3"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

var _ outbox.Restorer = (*Store)(nil)

// Restore implements [outbox.Restorer]: one IMMEDIATE transaction inserts
// every record with its own Seq, CreatedAt and SentAt (INSERT OR IGNORE, so
// a seq already stored keeps its row and a second Restore of the same
// records changes nothing), counts the delivered ones it inserted in Sent,
// and raises the ticket and telemetry counters to at least the largest seq
// of each kind, so a later Append continues after them. A record without a
// seq, or with a seq on the wrong side of [outbox.TelemetrySeqBase] for its
// priority, fails the whole call before anything is written.
func (s *Store) Restore(ctx context.Context, recs ...outbox.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if err := outbox.Validate(recs); err != nil {
		return fmt.Errorf("outbox %s: restore: %w", s.path, err)
	}
	var maxTicket, maxTelem uint64
	for i, r := range recs {
		switch {
		case r.IsTicket() && (r.Seq == 0 || r.Seq >= outbox.TelemetrySeqBase):
			return fmt.Errorf("outbox %s: restore: record %d (%s): ticket seq %d out of range 1..%d", s.path, i, r.EventID, r.Seq, outbox.TelemetrySeqBase-1)
		case !r.IsTicket() && (r.Seq <= outbox.TelemetrySeqBase || r.Seq > 1<<63-1):
			return fmt.Errorf("outbox %s: restore: record %d: telemetry seq %d not above %d", s.path, i, r.Seq, outbox.TelemetrySeqBase)
		case r.CreatedAt.IsZero():
			return fmt.Errorf("outbox %s: restore: record %d (%s, seq %d): CreatedAt is zero", s.path, i, r.EventID, r.Seq)
		case r.IsTicket():
			maxTicket = max(maxTicket, r.Seq)
		default:
			maxTelem = max(maxTelem, r.Seq-outbox.TelemetrySeqBase)
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock() // Close waits for this transaction
	if s.closed {
		return fmt.Errorf("outbox %s: restore: %w", s.path, outbox.ErrClosed)
	}
	err := s.restore(ctx, recs, maxTicket, maxTelem)
	var se sqlite3.Error
	if err != nil && errors.As(err, &se) && se.Code == sqlite3.ErrFull {
		return fmt.Errorf("outbox %s: %w: %w", s.path, outbox.ErrFull, err)
	}
	if err != nil {
		return err
	}
	s.noteSeq(maxTicket)
	return nil
}

func (s *Store) restore(ctx context.Context, recs []outbox.Record, maxTicket, maxTelem uint64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("outbox %s: restore: %w", s.path, err)
	}
	defer rollback(tx)
	stmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO records (`+recordCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return fmt.Errorf("outbox %s: restore: %w", s.path, err)
	}
	defer stmt.Close()
	pend, err := tx.PrepareContext(ctx, insertPending)
	if err != nil {
		return fmt.Errorf("outbox %s: restore: %w", s.path, err)
	}
	defer pend.Close()
	var sent int64
	for _, r := range recs {
		var sentAt any
		if !r.SentAt.IsZero() {
			sentAt = r.SentAt.UnixNano()
		}
		res, err := stmt.ExecContext(ctx, int64(r.Seq), r.EventID, r.TicketID, r.State, r.Hazard, r.Rule,
			r.Device, r.Level, r.Priority, r.Payload, r.CreatedAt.UnixNano(), sentAt)
		if err != nil {
			return fmt.Errorf("outbox %s: restore: record %s (seq %d): %w", s.path, r.EventID, r.Seq, err)
		}
		n, _ := res.RowsAffected()
		switch {
		case n > 0 && sentAt != nil:
			sent++
		case n > 0:
			if err := s.addPending(ctx, pend, r.Seq, r.Priority); err != nil {
				return fmt.Errorf("outbox %s: restore: record %s (seq %d): cursors: %w", s.path, r.EventID, r.Seq, err)
			}
		}
	}
	for _, u := range s.uplinks {
		if !s.multi() {
			break
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO counters VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET value = value + excluded.value`, sentCounter(u), sent); err != nil {
			return fmt.Errorf("outbox %s: restore: counters: %w", s.path, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE counters SET value = CASE name
		WHEN 'ticket' THEN max(value, ?) WHEN 'telemetry' THEN max(value, ?) WHEN 'sent' THEN value + ? ELSE value END`,
		int64(maxTicket), int64(maxTelem), sent); err != nil {
		return fmt.Errorf("outbox %s: restore: counters: %w", s.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("outbox %s: restore: commit: %w", s.path, err)
	}
	return nil
}
