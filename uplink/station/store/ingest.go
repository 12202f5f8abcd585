package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// Ingest implements [Ingester].
func (s *SQLite) Ingest(ctx context.Context, msgs []Message) ([]Outcome, error) {
	out := make([]Outcome, len(msgs))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for i, m := range msgs {
			o, err := ingestOne(tx, m)
			if err != nil {
				return fmt.Errorf("station store: %s: %w", m.Topic, err)
			}
			out[i] = o
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func ingestOne(tx *sql.Tx, m Message) (Outcome, error) {
	if m.Reject == "" {
		m.Reject = checkMessage(m)
	}
	if m.Reject != "" {
		return Rejected, reject(tx, m)
	}
	if err := ensureGateway(tx, m.Gateway, m.Township); err != nil {
		return 0, err
	}
	switch m.Kind {
	case KindStatus:
		return Stored, putStatus(tx, m)
	case KindTelemetry:
		_, err := tx.Exec(`UPDATE gateways SET telemetry = telemetry + 1 WHERE id = ?`, m.Gateway)
		return Stored, err
	}
	return putTicket(tx, m)
}

// checkMessage is the reason a parsed message cannot be stored, or "".
func checkMessage(m Message) string {
	switch {
	case len(m.Payload) > MaxPayload:
		return fmt.Sprintf("payload of %d bytes exceeds %d", len(m.Payload), MaxPayload)
	case m.Gateway == "" || len(m.Gateway) > 64 || len(m.Township) > 64:
		return "topic: no gateway, or a level longer than 64 bytes"
	case m.Kind == KindStatus && m.Status == nil, m.Kind == KindTicket && m.Ticket == nil:
		return "not parsed"
	case m.Kind != KindTicket:
		return ""
	}
	t := m.Ticket
	for name, v := range map[string]string{"event_id": t.EventID, "ticket_id": t.TicketID, "hazard": t.Hazard, "state": t.State} {
		if v == "" || len(v) > MaxField {
			return fmt.Sprintf("field %q: 1..%d bytes required", name, MaxField)
		}
	}
	if t.Gateway.ID != m.Gateway {
		return fmt.Sprintf("gateway.id %q does not match the topic's gateway %q", t.Gateway.ID, m.Gateway)
	}
	if t.Seq == 0 || t.Seq > 1<<62 {
		return "field \"seq\": out of range"
	}
	return ""
}

func reject(tx *sql.Tx, m Message) error {
	p := m.Payload
	if len(p) > MaxPayload {
		p = p[:MaxPayload]
	}
	reason := m.Reject
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	if _, err := tx.Exec(`INSERT INTO rejected(topic, received_ms, reason, payload) VALUES(?, ?, ?, ?)`,
		truncate(m.Topic, 512), ms(m.Rx), reason, p); err != nil {
		return err
	}
	return bump(tx, "rejected", 1)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func ensureGateway(tx *sql.Tx, id, township string) error {
	_, err := tx.Exec(`INSERT INTO gateways(id, township) VALUES(?, ?) ON CONFLICT(id) DO UPDATE SET township = excluded.township`, id, township)
	return err
}

func putStatus(tx *sql.Tx, m Message) error {
	st := m.Status
	_, err := tx.Exec(`UPDATE gateways SET state = ?, status_rx_ms = ?, status_at = ?, buffer_depth = ?, version = ? WHERE id = ?`,
		truncate(st.State, 16), ms(m.Rx), truncate(st.At, 64), st.BufferDepth, truncate(st.Version, 64), m.Gateway)
	return err
}

func putTicket(tx *sql.Tx, m Message) (Outcome, error) {
	t := m.Ticket
	res, err := tx.Exec(`INSERT INTO events(event_id, township, gateway, seq, ticket_id, state, hazard, level, label_zh, device,
		occurred_at, received_ms, payload) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(event_id) DO NOTHING`,
		t.EventID, m.Township, m.Gateway, t.Seq, t.TicketID, t.State, t.Hazard, t.Level, truncate(t.Label.Zh, MaxField),
		truncate(t.Device.ID, MaxField), truncate(t.OccurredAt, 64), ms(m.Rx), m.Payload)
	if err != nil {
		return 0, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return Duplicate, errors.Join(err, bump(tx, "duplicates", 1))
	}
	dropped := 0
	if t.State == ticket.StateDropped {
		dropped = 1
	}
	if _, err := tx.Exec(`UPDATE gateways SET events = events + 1, dropped = dropped + ? WHERE id = ?`, dropped, m.Gateway); err != nil {
		return 0, err
	}
	if err := trackSeq(tx, m.Gateway, m.Township, t.Seq, dropped, m.Rx); err != nil {
		return 0, err
	}
	return Stored, upsertOrder(tx, m)
}

// trackSeq records a new seq of a gateway: the first seq seen is the
// baseline (lower ones are history, no gap); a seq above the highest opens
// a gap for the seqs between; a seq inside an open gap fills it.
func trackSeq(tx *sql.Tx, gw, township string, seq uint64, dropped int, rx time.Time) error {
	res, err := tx.Exec(`INSERT INTO seqs(gateway, seq, dropped) VALUES(?, ?, ?) ON CONFLICT DO NOTHING`, gw, seq, dropped)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err // the seq was already seen (under another event_id)
	}
	var lo, hi sql.NullInt64
	if err := tx.QueryRow(`SELECT lo_seq, hi_seq FROM gateways WHERE id = ?`, gw).Scan(&lo, &hi); err != nil {
		return err
	}
	s := int64(seq)
	switch {
	case !hi.Valid:
		_, err = tx.Exec(`UPDATE gateways SET lo_seq = ?, hi_seq = ? WHERE id = ?`, s, s, gw)
	case s == hi.Int64+1:
		_, err = tx.Exec(`UPDATE gateways SET hi_seq = ? WHERE id = ?`, s, gw)
	case s > hi.Int64:
		if _, err = tx.Exec(`INSERT INTO gaps(gateway, township, from_seq, to_seq, left_count, opened_ms) VALUES(?,?,?,?,?,?)`,
			gw, township, hi.Int64+1, s-1, s-1-hi.Int64, ms(rx)); err == nil {
			_, err = tx.Exec(`UPDATE gateways SET hi_seq = ? WHERE id = ?`, s, gw)
		}
	case s < lo.Int64:
		_, err = tx.Exec(`UPDATE gateways SET lo_seq = ? WHERE id = ?`, s, gw)
	default:
		_, err = tx.Exec(`UPDATE gaps SET left_count = left_count - 1,
			closed_ms = CASE WHEN left_count = 1 THEN ? ELSE NULL END
			WHERE gateway = ? AND closed_ms IS NULL AND from_seq <= ? AND to_seq >= ?`, ms(rx), gw, s, s)
	}
	return err
}
