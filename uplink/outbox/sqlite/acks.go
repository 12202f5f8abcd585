package sqlite

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// Bounds on acknowledgements (issue 15: an hour of ack flood grew an
// unbounded acks table to 214 MB). With them, the acks of a ticket take at
// most about AcksPerTicket × (MaxAckBy + 2 × its id + ackOverhead) bytes,
// they count in [Store.Size] (so in buffer.max_size), and they go when
// their ticket's records go.
const (
	// MaxAckBy is the bytes of `by` an ack keeps: longer text is cut at a
	// UTF-8 boundary and ends in "…".
	MaxAckBy = 256
	// AcksPerTicket is how many acks of one ticket are kept: the newest.
	AcksPerTicket = 8
	// ackOverhead is the estimated bytes of an ack row beyond its text
	// (rowid, time, index entry).
	ackOverhead = 48
)

// clipBy bounds an ack's `by` to MaxAckBy bytes.
func clipBy(by string) string {
	if len(by) <= MaxAckBy {
		return by
	}
	const ell = "…"
	cut := MaxAckBy - len(ell)
	for cut > 0 && !utf8.RuneStart(by[cut]) {
		cut--
	}
	return by[:cut] + ell
}

// Ack implements [outbox.Acker]. `by` is cut to [MaxAckBy] bytes and only
// the newest [AcksPerTicket] acks of a ticket are kept, so a flood of acks
// cannot grow the database.
func (s *Store) Ack(ctx context.Context, ticketID, by string, at time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("outbox ack: %w", err)
	}
	defer rollback(tx)
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM records WHERE ticket_id = ? AND priority < 2 LIMIT 1)`, ticketID).Scan(&n); err != nil {
		return fmt.Errorf("outbox ack: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("%w %q", outbox.ErrUnknownTicket, ticketID)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO acks (ticket_id, by_whom, at) VALUES (?, ?, ?)`, ticketID, clipBy(by), at.UnixNano()); err != nil {
		return fmt.Errorf("outbox ack: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM acks WHERE ticket_id = ? AND rowid NOT IN (
		SELECT rowid FROM acks WHERE ticket_id = ? ORDER BY at DESC, rowid DESC LIMIT ?)`, ticketID, ticketID, AcksPerTicket); err != nil {
		return fmt.Errorf("outbox ack: pruning older acks: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("outbox ack: commit: %w", err)
	}
	return nil
}

// Acks implements [outbox.Acker].
func (s *Store) Acks(ctx context.Context, ticketID string) ([]outbox.Ack, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT ticket_id, by_whom, at FROM acks
		WHERE ? = '' OR ticket_id = ? ORDER BY at, rowid`, ticketID, ticketID)
	if err != nil {
		return nil, fmt.Errorf("outbox acks: %w", err)
	}
	defer rows.Close()
	var out []outbox.Ack
	for rows.Next() {
		var a outbox.Ack
		var at int64
		if err := rows.Scan(&a.TicketID, &a.By, &at); err != nil {
			return nil, fmt.Errorf("outbox acks: %w", err)
		}
		a.At = time.Unix(0, at)
		out = append(out, a)
	}
	return out, rows.Err()
}

// orphanAcks deletes the acks of tickets that have no record left: they
// go with their ticket's records (pruned or evicted).
const orphanAcks = `DELETE FROM acks WHERE NOT EXISTS (
	SELECT 1 FROM records r WHERE r.ticket_id = acks.ticket_id AND r.priority < 2)`

// supersededAcks deletes every ack but the newest of each ticket.
const supersededAcks = `DELETE FROM acks WHERE rowid NOT IN (
	SELECT (SELECT b.rowid FROM acks b WHERE b.ticket_id = t.ticket_id ORDER BY b.at DESC, b.rowid DESC LIMIT 1)
	FROM (SELECT DISTINCT ticket_id FROM acks) t)`
