package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
)

// Station orders: what the watchdog raises, and at which level.
var stationOrders = map[string]struct {
	hazard, zh, en string
	level          int
}{
	OriginLost:    {"gateway_lost", "网关失联", "Gateway lost", 2},
	OriginMissing: {"data_missing", "数据缺失", "Data missing", 3},
}

// Watch implements [Orders]: it raises a 网关失联 order for each lost
// gateway without one, a 数据缺失 order for each listed gap without one,
// and clears the station orders whose cause is gone. A cleared order nobody
// has taken yet closes; one in hand stays for its person. Nothing is
// deleted.
func (s *SQLite) Watch(ctx context.Context, w Watch) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		active := map[string]string{} // ticket_id → detail
		for gw, reason := range w.Lost {
			id, err := lostTicketID(tx, gw, w)
			if err != nil {
				return err
			}
			active[id] = reason
			if err := raise(tx, id, OriginLost, gw, reason, w); err != nil {
				return err
			}
		}
		for _, g := range w.Gaps {
			id := stationTicketID(g.Gateway, OriginMissing, "gap-"+strconv.FormatInt(g.ID, 10))
			detail := fmt.Sprintf("seq %d..%d missing (%d of %d not received), open since %s",
				g.From, g.To, g.Left, g.To-g.From+1, g.OpenedAt.Format("2006-01-02 15:04:05"))
			active[id] = detail
			if err := raise(tx, id, OriginMissing, g.Gateway, detail, w); err != nil {
				return err
			}
		}
		return clearGone(tx, active, w)
	})
}

// lostTicketID is the ticket_id of the gateway's uncleared 网关失联 order,
// or a new one.
func lostTicketID(tx *sql.Tx, gw string, w Watch) (string, error) {
	var id string
	err := tx.QueryRow(`SELECT ticket_id FROM orders WHERE origin = ? AND gateway = ? AND cleared = 0`, OriginLost, gw).Scan(&id)
	if err == sql.ErrNoRows {
		return stationTicketID(gw, OriginLost, strconv.FormatInt(ms(w.At), 10)), nil
	}
	return id, err
}

func raise(tx *sql.Tx, ticketID, origin, gw, detail string, w Watch) error {
	so := stationOrders[origin]
	var township string
	if err := tx.QueryRow(`SELECT township FROM gateways WHERE id = ?`, gw).Scan(&township); err != nil && err != sql.ErrNoRows {
		return err
	}
	_, err := tx.Exec(`INSERT INTO orders(ticket_id, origin, township, gateway, hazard, label_zh, label_en, level, device,
		site, location, status, last_state, detail, opened_ms, updated_ms) VALUES(?,?,?,?,?,?,?,?,'','','',?,'open',?,?,?)
		ON CONFLICT(ticket_id) DO UPDATE SET detail = excluded.detail`,
		ticketID, origin, township, gw, so.hazard, so.zh, so.en, so.level, StatusOpen, detail, ms(w.At), ms(w.At))
	if err != nil {
		return err
	}
	var id int64
	var steps int
	if err := tx.QueryRow(`SELECT o.id, (SELECT count(*) FROM steps WHERE order_id = o.id) FROM orders o WHERE ticket_id = ?`, ticketID).Scan(&id, &steps); err != nil {
		return err
	}
	if steps > 0 {
		return nil
	}
	return addStep(tx, id, "open", "", StatusOpen, ByStation, detail, w.At)
}

// clearGone clears the uncleared station orders not in active.
func clearGone(tx *sql.Tx, active map[string]string, w Watch) error {
	rows, err := tx.Query(`SELECT id, ticket_id, origin, status FROM orders WHERE origin IN (?, ?) AND cleared = 0`, OriginLost, OriginMissing)
	if err != nil {
		return err
	}
	type gone struct {
		id             int64
		origin, status string
	}
	var todo []gone
	for rows.Next() {
		var g gone
		var tid string
		if err := rows.Scan(&g.id, &tid, &g.origin, &g.status); err != nil {
			rows.Close()
			return err
		}
		if _, ok := active[tid]; !ok {
			todo = append(todo, g)
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, g := range todo {
		if err := clearOne(tx, g.id, g.origin, g.status, w); err != nil {
			return err
		}
	}
	return nil
}

func clearOne(tx *sql.Tx, id int64, origin, status string, w Watch) error {
	note := "heartbeat received again: the gateway is back"
	if origin == OriginMissing {
		note = "the missing seqs arrived: the gap is filled"
	}
	if _, err := tx.Exec(`UPDATE orders SET cleared = 1, last_state = 'clear', updated_ms = ? WHERE id = ?`, ms(w.At), id); err != nil {
		return err
	}
	if status != StatusOpen {
		return addStep(tx, id, "clear", status, status, ByStation, note, w.At)
	}
	return setStatus(tx, id, status, StatusReviewed, "clear", ByStation, note+" (closed: nobody had taken it)", w.At)
}
