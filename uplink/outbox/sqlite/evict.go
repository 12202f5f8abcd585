package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

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
	p, err := outbox.TombstonePayload(r)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE records SET state = 'dropped', payload = ? WHERE seq = ?`, p, seq)
	return err
}
