package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

var _ interface {
	outbox.Acker
	outbox.Maintainer
} = (*Store)(nil)

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

// orphanAcks deletes the acks of tickets that have no record left: they
// go with their ticket's records (pruned or evicted).
const orphanAcks = `DELETE FROM acks WHERE NOT EXISTS (
	SELECT 1 FROM records r WHERE r.ticket_id = acks.ticket_id AND r.priority < 2)`

// supersededAcks deletes every ack but the newest of each ticket.
const supersededAcks = `DELETE FROM acks WHERE rowid NOT IN (
	SELECT (SELECT b.rowid FROM acks b WHERE b.ticket_id = t.ticket_id ORDER BY b.at DESC, b.rowid DESC LIMIT 1)
	FROM (SELECT DISTINCT ticket_id FROM acks) t)`

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

// tombstoneBytes estimates a tombstone's payload.
const tombstoneBytes = 600

// candidate is one record eviction may remove.
type candidate struct {
	seq   int64
	prio  int
	sent  bool
	bytes int64
}

// Evict implements [outbox.Maintainer]. While the database uses more than
// maxBytes, in this order (DESIGN §6): acks of tickets with no record left
// and every ack but the newest of each ticket; telemetry, oldest first; delivered
// ticket records, oldest first; then unsent ticket records — of cleared
// tickets first, then by level (4 before 3 before 2), oldest first — each
// replaced by a tombstone (state dropped, same seq, event_id, ticket_id,
// hazard, level, device; no evidence) that the link publishes in its
// place; the acks of a ticket go with its last record. Never touched:
// records of an open level-1 or fire-class ticket (its latest record has
// priority 0: kind alarm, any level), the latest
// record of any open ticket, unsent tombstones. Unsent drops are counted.
// Each pass frees about 10 % below the limit so eviction does not run on
// every append. The records each pass removes are those
// [outbox.PlanEviction] chooses (checked by outboxtest.RunEviction).
func (s *Store) Evict(ctx context.Context, maxBytes int64) (outbox.Evicted, error) {
	var ev outbox.Evicted
	if maxBytes <= 0 {
		return ev, nil
	}
	size, err := s.Size(ctx)
	if err != nil {
		return ev, err
	}
	ev.SizeBefore, ev.SizeAfter = size, size
	if size > maxBytes {
		// Acks first: those of tickets with no record left, and all but the
		// newest of each ticket (the one diag alarms and history show).
		for _, q := range []string{orphanAcks, supersededAcks} {
			if _, err := s.db.ExecContext(ctx, q); err != nil {
				return ev, fmt.Errorf("outbox evict acks: %w", err)
			}
		}
		if size, err = s.Size(ctx); err != nil {
			return ev, err
		}
		ev.SizeAfter = size
	}
	for pass := 0; pass < 4 && size > maxBytes; pass++ {
		need := size - maxBytes*9/10
		n, err := s.evictPass(ctx, need, &ev)
		if err != nil {
			return ev, err
		}
		if size, err = s.Size(ctx); err != nil {
			return ev, err
		}
		ev.SizeAfter = size
		if n == 0 {
			break // nothing left that may be evicted
		}
	}
	return ev, nil
}

func (s *Store) evictPass(ctx context.Context, need int64, ev *outbox.Evicted) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("outbox evict: %w", err)
	}
	defer rollback(tx)
	chosen, err := evictionCandidates(ctx, tx, need)
	if err != nil {
		return 0, err
	}
	var droppedTickets, droppedTelem int64
	for _, c := range chosen {
		switch {
		case c.prio == outbox.PriorityTelemetry:
			ev.Telemetry++
			if !c.sent {
				ev.DroppedTelemetry++
				droppedTelem++
			}
			err = execDelete(ctx, tx, c.seq)
		case c.sent:
			ev.DeliveredTickets++
			err = execDelete(ctx, tx, c.seq)
		default:
			ev.Tombstoned++
			droppedTickets++
			err = tombstone(ctx, tx, c.seq)
		}
		if err != nil {
			return 0, fmt.Errorf("outbox evict seq %d: %w", c.seq, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE counters SET value = value + CASE name
		WHEN 'dropped_tickets' THEN ? WHEN 'dropped_telemetry' THEN ? ELSE 0 END`, droppedTickets, droppedTelem); err != nil {
		return 0, fmt.Errorf("outbox evict: counters: %w", err)
	}
	if _, err := tx.ExecContext(ctx, orphanAcks); err != nil {
		return 0, fmt.Errorf("outbox evict acks: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("outbox evict: commit: %w", err)
	}
	return len(chosen), nil
}

// EvictionPlan implements [outbox.EvictionPlanner]: what one eviction
// pass would remove to free need bytes, chosen by the same query Evict
// runs. outboxtest checks it against [outbox.PlanEviction].
func (s *Store) EvictionPlan(ctx context.Context, need int64) ([]outbox.Eviction, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("outbox eviction plan: %w", err)
	}
	defer rollback(tx)
	cs, err := evictionCandidates(ctx, tx, need)
	if err != nil {
		return nil, err
	}
	out := make([]outbox.Eviction, len(cs))
	for i, c := range cs {
		out[i] = outbox.Eviction{Seq: uint64(c.seq), Tombstone: c.prio != outbox.PriorityTelemetry && !c.sent}
	}
	return out, nil
}

// EvictionFreed implements [outbox.EvictionPlanner]: a deleted record frees
// its payload and rowOverhead; a tombstone frees its payload less
// tombstoneBytes.
func (s *Store) EvictionFreed(r outbox.Record, tombstone bool) int64 {
	return freedBytes(tombstone, int64(len(r.Payload)))
}

func freedBytes(tombstone bool, payload int64) int64 {
	if tombstone {
		return payload - tombstoneBytes // replaced by a tombstone
	}
	return payload + rowOverhead // deleted
}

// evictionOrder lists the records eviction may remove, in the order of
// [outbox.EvictionOrder] (DESIGN §6), with what evictionCandidates needs.
const evictionOrder = `
	WITH open_l1 AS (
		SELECT r.ticket_id FROM records r JOIN (
			SELECT max(seq) AS seq FROM records
			WHERE priority < 2 AND state NOT IN ('test', 'dropped') GROUP BY ticket_id) m ON r.seq = m.seq
		WHERE r.state IN ('open', 'escalate') AND (r.level = 1 OR r.priority = 0)),
	cleared AS (
		SELECT r.ticket_id FROM records r JOIN (
			SELECT max(seq) AS seq FROM records
			WHERE priority < 2 AND state NOT IN ('test', 'dropped') GROUP BY ticket_id) m ON r.seq = m.seq
		WHERE r.state NOT IN ('open', 'escalate'))
	SELECT seq, priority, sent_at IS NOT NULL, length(payload) FROM records
	WHERE NOT (priority < 2 AND sent_at IS NULL AND state = 'dropped')
		AND (priority = 2 OR (ticket_id NOT IN (SELECT ticket_id FROM open_l1) AND seq NOT IN (` + openLatest + `)))
	ORDER BY
		CASE WHEN priority = 2 THEN 0 WHEN sent_at IS NOT NULL THEN 1 ELSE 2 END,
		CASE WHEN ticket_id IN (SELECT ticket_id FROM cleared) THEN 0 ELSE 1 END,
		level DESC, seq`

// evictionCandidates runs the DESIGN §6 eviction order in SQL (the order
// of [outbox.EvictionOrder]) and returns the records to remove until need
// bytes are freed; the query stops once enough are chosen (the running
// total is computed in Go).
func evictionCandidates(ctx context.Context, tx *sql.Tx, need int64) ([]candidate, error) {
	rows, err := tx.QueryContext(ctx, evictionOrder)
	if err != nil {
		return nil, fmt.Errorf("outbox evict: %w", err)
	}
	var chosen []candidate
	var total int64
	for rows.Next() && total < need {
		var c candidate
		if err := rows.Scan(&c.seq, &c.prio, &c.sent, &c.bytes); err != nil {
			rows.Close()
			return nil, fmt.Errorf("outbox evict: %w", err)
		}
		c.bytes = freedBytes(c.prio != outbox.PriorityTelemetry && !c.sent, c.bytes)
		chosen = append(chosen, c)
		total += max(c.bytes, 0)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("outbox evict: %w", err)
	}
	return chosen, nil
}

func execDelete(ctx context.Context, tx *sql.Tx, seq int64) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM records WHERE seq = ?`, seq)
	return err
}

// tombstone replaces an unsent ticket record's payload by its tombstone.
// A payload that is not a ticket becomes a minimal tombstone built from
// the record's columns.
func tombstone(ctx context.Context, tx *sql.Tx, seq int64) error {
	var r outbox.Record
	if err := tx.QueryRowContext(ctx, `SELECT event_id, ticket_id, hazard, device, level, payload FROM records WHERE seq = ?`, seq).
		Scan(&r.EventID, &r.TicketID, &r.Hazard, &r.Device, &r.Level, &r.Payload); err != nil {
		return err
	}
	p, err := TombstonePayload(r)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE records SET state = 'dropped', payload = ? WHERE seq = ?`, p, seq)
	return err
}

// TombstonePayload is the marshalled tombstone of a ticket record.
func TombstonePayload(r outbox.Record) ([]byte, error) {
	t, err := ticket.Parse(r.Payload)
	if err != nil || t.Schema != ticket.Schema {
		t = ticket.Ticket{Schema: ticket.Schema, EventID: r.EventID, TicketID: r.TicketID, Hazard: r.Hazard, Level: r.Level}
		t.Device.ID = r.Device
		if i := strings.Index(r.TicketID, "/"); i > 0 && t.Device.ID == "" {
			t.Device.ID = r.TicketID[:i]
		}
	}
	return ticket.Tombstone(t).Marshal()
}
