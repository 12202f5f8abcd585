package diagview

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// The stored alarm and fault records of `fenghuo diag history` (GB/T
// 45839 5.3.3: kept and exportable in time order): a table, or CSV.

// UTF8BOM starts a CSV export so that Excel on a Chinese Windows reads it
// as UTF-8 (without it, Excel takes the file for GBK and garbles 汉字).
const UTF8BOM = "\ufeff"

// Span is " from A to B" over the records shown, "" when there are none.
func Span(h api.History, loc *time.Location) string {
	if len(h.Records) == 0 {
		return ""
	}
	return fmt.Sprintf(" from %s to %s", Clock(h.Records[0].CreatedAt, loc), Clock(h.Records[len(h.Records)-1].CreatedAt, loc))
}

// History prints the records as a table, oldest first.
func History(w io.Writer, h api.History, loc *time.Location) {
	if len(h.Records) == 0 {
		if h.Since.IsZero() && h.Until.IsZero() {
			fmt.Fprintln(w, "no stored alarm or fault records")
		} else {
			fmt.Fprintln(w, "no stored alarm or fault records in this time range")
		}
		return
	}
	fmt.Fprintf(w, "%d %s%s, oldest first\n", len(h.Records), Plural(len(h.Records), "record"), Span(h, loc))
	var t table
	t.add("TIME", "LEVEL", "STATE", "DEVICE", "NAME", "HAZARD", "DELIVERED", "ACKNOWLEDGED", "SEQ")
	for _, r := range h.Records {
		t.add(Clock(r.CreatedAt, loc), levelName(r.Level), r.State, r.Device, orDash(r.DeviceName),
			orDash(strings.TrimSpace(r.LabelZh+" "+r.LabelEn)), delivered(r, loc), acked(r, loc), fmt.Sprint(r.Seq))
	}
	t.write(w)
}

func delivered(r api.HistoryRecord, loc *time.Location) string {
	if r.SentAt.IsZero() {
		return "waiting"
	}
	return Clock(r.SentAt, loc)
}

func acked(r api.HistoryRecord, loc *time.Location) string {
	if r.AckedBy == "" && r.AckedAt.IsZero() {
		return "—"
	}
	return fmt.Sprintf("%s at %s", orDash(r.AckedBy), Clock(r.AckedAt, loc))
}

// HistoryCSVHeader is the header row of the CSV export.
var HistoryCSVHeader = []string{
	"seq", "time", "level", "level_zh", "state", "hazard", "label_zh", "label_en", "kind", "rule",
	"device", "device_name", "ticket_id", "event_id", "delivered_at", "acked_by", "acked_at",
}

// HistoryCSV writes one header row and one row per record, RFC 4180
// quoting (encoding/csv), CRLF line ends as Excel expects, times in RFC
// 3339 with milliseconds in the gateway's zone. Text cells go through
// sanitize.CSVCell: a `by` or a name starting with = + - @ is text, never
// a formula (OWASP CSV injection).
func HistoryCSV(w io.Writer, h api.History, bom bool, loc *time.Location) error {
	if bom {
		if _, err := io.WriteString(w, UTF8BOM); err != nil {
			return err
		}
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(loc).Format(ticket.TimeLayout)
	}
	if err := cw.Write(HistoryCSVHeader); err != nil {
		return err
	}
	c := sanitize.CSVCell
	for _, r := range h.Records {
		if err := cw.Write([]string{
			strconv.FormatUint(r.Seq, 10), ts(r.CreatedAt), strconv.Itoa(r.Level), rules.LevelZh(r.Level), c(r.State),
			c(r.Hazard), c(r.LabelZh), c(r.LabelEn), c(r.Kind), c(r.Rule), c(r.Device), c(r.DeviceName), c(r.TicketID), c(r.EventID),
			ts(r.SentAt), c(r.AckedBy), ts(r.AckedAt),
		}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// HistoryAs writes h as format: "json", "csv" (with the byte order mark
// if bom) or "" for the table.
func HistoryAs(w io.Writer, format string, bom bool, h api.History, loc *time.Location) error {
	switch format {
	case "json":
		return JSON(w, h)
	case "csv":
		return HistoryCSV(w, h, bom, loc)
	}
	History(w, h, loc)
	return nil
}

// Exported is the line that confirms an export of h to path as format.
func Exported(w io.Writer, path, format string, bom bool, h api.History, loc *time.Location) {
	what := "CSV, UTF-8 with BOM"
	if format == "json" {
		what = "JSON"
	} else if !bom {
		what = "CSV, UTF-8"
	}
	n := len(h.Records)
	fmt.Fprintf(w, "exported %d %s%s to %s (%s)\n", n, Plural(n, "record"), Span(h, loc), sanitize.Line(path), what)
}
