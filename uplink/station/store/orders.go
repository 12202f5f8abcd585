package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// System authors of steps.
const (
	ByGateway = "gateway" // a ticket event
	ByStation = "station" // the service itself (watchdog, clear rule)
)

// opensOrder reports whether a ticket event state belongs to a work order:
// tests and operation records never open one.
func opensOrder(state string) bool {
	switch state {
	case ticket.StateOpen, ticket.StateEscalate, ticket.StateClear, ticket.StateDropped:
		return true
	}
	return false
}

// upsertOrder applies a new ticket event to its order: the first event of a
// ticket_id opens it (待处置); escalate raises its level; clear marks the
// condition gone and closes a level 3–4 order nobody has taken yet (a
// level 1–2 order stays until reviewed); a tombstone counts a missing event.
func upsertOrder(tx *sql.Tx, m Message) error {
	t := m.Ticket
	if !opensOrder(t.State) {
		return nil
	}
	var id int64
	var status string
	var level int
	err := tx.QueryRow(`SELECT id, status, level FROM orders WHERE ticket_id = ?`, t.TicketID).Scan(&id, &status, &level)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		id, status, level, err = insertTicketOrder(tx, m)
	case err == nil:
		level = min(level, t.Level)
		_, err = tx.Exec(`UPDATE orders SET level = ?, last_state = ?, updated_ms = ?,
			cleared = cleared OR ?, missing_events = missing_events + ? WHERE id = ?`,
			level, t.State, ms(m.Rx), t.State == ticket.StateClear, boolInt(t.State == ticket.StateDropped), id)
	}
	if err != nil || t.State != ticket.StateClear || status != StatusOpen || level <= 2 {
		return err
	}
	return setStatus(tx, id, status, StatusReviewed, "clear", ByStation,
		"condition returned to normal (clear event): a level 3–4 order nobody has taken closes on its clear", m.Rx)
}

func insertTicketOrder(tx *sql.Tx, m Message) (int64, string, int, error) {
	t := m.Ticket
	site := t.Gateway.Site.Name
	res, err := tx.Exec(`INSERT INTO orders(ticket_id, origin, township, gateway, hazard, label_zh, label_en, level, device,
		site, location, status, cleared, last_state, missing_events, opened_ms, updated_ms)
		VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		t.TicketID, OriginGateway, m.Township, m.Gateway, t.Hazard, truncate(t.Label.Zh, MaxField), truncate(t.Label.En, MaxField),
		t.Level, truncate(t.Device.Name+" ("+t.Device.ID+")", 2*MaxField), truncate(site, MaxField), truncate(t.Device.Location, MaxField),
		StatusOpen, boolInt(t.State == ticket.StateClear), t.State, boolInt(t.State == ticket.StateDropped), ms(m.Rx), ms(m.Rx))
	if err != nil {
		return 0, "", 0, err
	}
	id, err := res.LastInsertId()
	if err == nil {
		err = addStep(tx, id, "open", "", StatusOpen, ByGateway, "first event: "+t.State, m.Rx)
	}
	return id, StatusOpen, t.Level, err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func addStep(tx *sql.Tx, id int64, action, from, to, by, note string, at time.Time) error {
	_, err := tx.Exec(`INSERT INTO steps(order_id, action, from_status, to_status, by, at_ms, note) VALUES(?,?,?,?,?,?,?)`,
		id, action, from, to, by, ms(at), note)
	return err
}

// setStatus moves an order and records the step.
func setStatus(tx *sql.Tx, id int64, from, to, action, by, note string, at time.Time) error {
	var closed any
	if Closed(to) {
		closed = ms(at)
	}
	if _, err := tx.Exec(`UPDATE orders SET status = ?, updated_ms = ?, closed_ms = ? WHERE id = ?`, to, ms(at), closed, id); err != nil {
		return err
	}
	return addStep(tx, id, action, from, to, by, note, at)
}

// Apply implements [Orders].
func (s *SQLite) Apply(ctx context.Context, tr Transition) (Order, error) {
	if err := checkTransition(tr); err != nil {
		return Order{}, err
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var from string
		if err := tx.QueryRow(`SELECT status FROM orders WHERE id = ?`, tr.OrderID).Scan(&from); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("order %d: %w", tr.OrderID, ErrNotFound)
			}
			return err
		}
		to, err := Next(from, tr.Action)
		if err != nil {
			return fmt.Errorf("order %d: %w", tr.OrderID, err)
		}
		return setStatus(tx, tr.OrderID, from, to, tr.Action, tr.By, tr.Note, tr.At)
	})
	if err != nil {
		return Order{}, err
	}
	o, _, _, err := s.Order(ctx, tr.OrderID)
	return o, err
}

const orderCols = `id, ticket_id, origin, township, gateway, hazard, label_zh, label_en, level, device, site, location,
	status, cleared, last_state, missing_events, detail, opened_ms, updated_ms, closed_ms`

type scanner interface{ Scan(...any) error }

func scanOrder(r scanner) (Order, error) {
	var o Order
	var opened, updated int64
	var closed sql.NullInt64
	err := r.Scan(&o.ID, &o.TicketID, &o.Origin, &o.Township, &o.Gateway, &o.Hazard, &o.LabelZh, &o.LabelEn, &o.Level,
		&o.Device, &o.Site, &o.Location, &o.Status, &o.Cleared, &o.LastState, &o.MissingEvents, &o.Detail, &opened, &updated, &closed)
	o.OpenedAt, o.UpdatedAt, o.StatusZh = fromMS(opened), fromMS(updated), StatusZh(o.Status)
	if closed.Valid {
		c := fromMS(closed.Int64)
		o.ClosedAt = &c
	}
	return o, err
}

// OpenOrders implements [Orders].
func (s *SQLite) OpenOrders(ctx context.Context) ([]Order, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+orderCols+` FROM orders WHERE closed_ms IS NULL ORDER BY level, opened_ms, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// Order implements [Orders].
func (s *SQLite) Order(ctx context.Context, id int64) (Order, []Step, []Event, error) {
	o, err := scanOrder(s.db.QueryRowContext(ctx, `SELECT `+orderCols+` FROM orders WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Order{}, nil, nil, fmt.Errorf("order %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Order{}, nil, nil, err
	}
	steps, err := s.steps(ctx, id)
	if err != nil {
		return o, nil, nil, err
	}
	evs, err := s.queryEvents(ctx, `WHERE ticket_id = ? ORDER BY seq`, o.TicketID)
	return o, steps, evs, err
}

func (s *SQLite) steps(ctx context.Context, id int64) ([]Step, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT action, from_status, to_status, by, at_ms, note FROM steps WHERE order_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Step
	for rows.Next() {
		var st Step
		var at int64
		if err := rows.Scan(&st.Action, &st.From, &st.To, &st.By, &at, &st.Note); err != nil {
			return nil, err
		}
		st.At = fromMS(at)
		out = append(out, st)
	}
	return out, rows.Err()
}

// stationTicketID names a station order: station/<gateway>/<origin>/<key>.
func stationTicketID(gw, origin, key string) string {
	return strings.Join([]string{"station", gw, origin, key}, "/")
}
