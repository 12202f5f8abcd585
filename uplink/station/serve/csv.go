package serve

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
	"github.com/fenghuo-iot/fenghuo/uplink/station/store"
)

// csvHeader is the first row of the export.
var csvHeader = []string{"received_at", "township", "gateway", "seq", "event_id", "ticket_id", "state", "level", "hazard", "label_zh", "device", "occurred_at"}

// eventsCSV exports the filtered history as CSV for Excel: UTF-8 with a
// BOM; every text cell from the network goes through sanitize.CSVCell, so
// a leading = + - @ is quoted and never runs as a formula.
func (a *api) eventsCSV(w http.ResponseWriter, r *http.Request, _ caller) {
	f, err := filter(r)
	if err != nil {
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	evs, err := a.st.History(r.Context(), f)
	if err != nil {
		fail(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="fenghuo-events.csv"`)
	if err := writeCSV(w, evs); err != nil {
		return // the client went away mid-download
	}
}

func writeCSV(w http.ResponseWriter, evs []store.Event) error {
	if _, err := w.Write([]byte("\ufeff")); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, e := range evs {
		c := sanitize.CSVCell
		row := []string{e.ReceivedAt.Format(time.RFC3339), c(e.Township), c(e.Gateway), strconv.FormatUint(e.Seq, 10),
			c(e.EventID), c(e.TicketID), c(e.State), strconv.Itoa(e.Level), c(e.Hazard), c(e.LabelZh), c(e.Device), c(e.OccurredAt)}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
