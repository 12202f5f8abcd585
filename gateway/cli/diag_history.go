package cli

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/atomicfile"
	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// utf8BOM starts a CSV export so that Excel on a Chinese Windows reads it
// as UTF-8 (without it, Excel takes the file for GBK and garbles 汉字).
const utf8BOM = "\ufeff"

// newDiagHistoryCmd is `fenghuo diag history`: the stored alarm and fault
// records in time order, as a table or exported as CSV or JSON (GB/T
// 45839 5.3.3: keep and export at least 999).
// historyFlags are the flags of `diag history`.
type historyFlags struct {
	since, until, export, format string
	noBOM                        bool
}

func newDiagHistoryCmd(f *diagFlags) *cobra.Command {
	var hf historyFlags
	c := &cobra.Command{
		Use:   "history [--since T] [--until T] [--export FILE] [--format csv|json]",
		Short: "Stored alarm and fault records in time order; export as CSV or JSON",
		Long: `history lists the ticket events the outbox keeps (delivered ones for at least
30 days and at least the last 999; unsent ones until they are delivered), oldest
first: time, level, state, device, hazard, when the broker took it and the
township's acknowledgement.

T is a date (2026-11-29), a date and time in the gateway's zone
(2026-11-29 08:00), RFC 3339 (2026-11-29T08:00:00+08:00) or an age (90m, 24h, 7d).

--export FILE writes the records to FILE instead of a table: CSV (UTF-8 with a
BOM for Excel, RFC 4180 quoting, one header row) unless --format json or FILE
ends in .json. --format without --export writes to stdout.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runDiagHistory(c, f, hf) },
	}
	fl := c.Flags()
	fl.StringVar(&hf.since, "since", "", "only records at or after T")
	fl.StringVar(&hf.until, "until", "", "only records before T")
	fl.StringVarP(&hf.export, "export", "o", "", "write the records to FILE (CSV, or JSON for .json)")
	fl.StringVar(&hf.format, "format", "", "csv or json (default: the table, or csv with --export)")
	fl.BoolVar(&hf.noBOM, "no-bom", false, "CSV without the UTF-8 byte order mark (for scripts; Excel then garbles 汉字)")
	return c
}

// query checks the flags and returns the history query and the output
// format ("" for the table).
func (hf historyFlags) query(now time.Time) (api.HistoryQuery, string, error) {
	var q api.HistoryQuery
	var err error
	if q.Since, err = parseWhen(hf.since, now, localTime); err != nil {
		return q, "", usage(fmt.Errorf("diag history: --since: %w", err))
	}
	if q.Until, err = parseWhen(hf.until, now, localTime); err != nil {
		return q, "", usage(fmt.Errorf("diag history: --until: %w", err))
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		return q, "", usage(fmt.Errorf("diag history: --until %s is not after --since %s", clock(q.Until, localTime), clock(q.Since, localTime)))
	}
	switch hf.format {
	case "":
		if hf.export == "" {
			return q, "", nil
		}
		if strings.EqualFold(filepath.Ext(hf.export), ".json") {
			return q, "json", nil
		}
		return q, "csv", nil
	case "csv", "json":
		return q, hf.format, nil
	}
	return q, "", usage(fmt.Errorf("diag history: --format %q: want csv or json", hf.format))
}

func runDiagHistory(c *cobra.Command, f *diagFlags, hf historyFlags) error {
	q, format, err := hf.query(time.Now())
	if err != nil {
		return err
	}
	socket, err := f.resolveSocket()
	if err != nil {
		return err
	}
	h, err := api.NewClient(socket).History(c.Context(), q)
	if err != nil {
		return failed(explainDial(socket, err))
	}
	out := c.OutOrStdout()
	switch {
	case hf.export != "":
		if err := writeExport(hf.export, format, !hf.noBOM, h); err != nil {
			return failed(err)
		}
		what := "CSV, UTF-8 with BOM"
		if format == "json" {
			what = "JSON"
		} else if hf.noBOM {
			what = "CSV, UTF-8"
		}
		fmt.Fprintf(out, "exported %d %s%s to %s (%s)\n", len(h.Records), plural(len(h.Records), "record"), span(h, localTime), hf.export, what)
		return nil
	case f.json || format == "json":
		return printJSON(out, h)
	case format == "csv":
		return writeHistoryCSV(out, h, !hf.noBOM, localTime)
	}
	renderHistory(out, h, localTime)
	return nil
}

// parseWhen reads a --since/--until value; "" is the zero time.
func parseWhen(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 {
			return now.AddDate(0, 0, -days), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (2026-11-29), a date and time (2026-11-29 08:00), RFC 3339 or an age (24h, 7d)", s)
}

// span is " from A to B" over the records shown, "" when there are none.
func span(h api.History, loc *time.Location) string {
	if len(h.Records) == 0 {
		return ""
	}
	return fmt.Sprintf(" from %s to %s", clock(h.Records[0].CreatedAt, loc), clock(h.Records[len(h.Records)-1].CreatedAt, loc))
}

// renderHistory prints the records as a table, oldest first.
func renderHistory(w io.Writer, h api.History, loc *time.Location) {
	if len(h.Records) == 0 {
		if h.Since.IsZero() && h.Until.IsZero() {
			fmt.Fprintln(w, "no stored alarm or fault records")
		} else {
			fmt.Fprintln(w, "no stored alarm or fault records in this time range")
		}
		return
	}
	fmt.Fprintf(w, "%d %s%s, oldest first\n", len(h.Records), plural(len(h.Records), "record"), span(h, loc))
	var t table
	t.add("TIME", "LEVEL", "STATE", "DEVICE", "NAME", "HAZARD", "DELIVERED", "ACKNOWLEDGED", "SEQ")
	for _, r := range h.Records {
		t.add(clock(r.CreatedAt, loc), levelName(r.Level), r.State, r.Device, orDash(r.DeviceName),
			orDash(strings.TrimSpace(r.LabelZh+" "+r.LabelEn)), delivered(r, loc), acked(r, loc), fmt.Sprint(r.Seq))
	}
	t.write(w)
}

func delivered(r api.HistoryRecord, loc *time.Location) string {
	if r.SentAt.IsZero() {
		return "waiting"
	}
	return clock(r.SentAt, loc)
}

func acked(r api.HistoryRecord, loc *time.Location) string {
	if r.AckedBy == "" && r.AckedAt.IsZero() {
		return "—"
	}
	return fmt.Sprintf("%s at %s", orDash(r.AckedBy), clock(r.AckedAt, loc))
}

// writeExport writes h to path as csv or json, atomically (atomicfile),
// so a failed export leaves no half file.
func writeExport(path, format string, bom bool, h api.History) error {
	err := atomicfile.Write(path, 0o644, func(w io.Writer) error {
		if format == "json" {
			return printJSON(w, h)
		}
		return writeHistoryCSV(w, h, bom, localTime)
	})
	if err != nil {
		return fmt.Errorf("export %s: %w", path, err)
	}
	return nil
}

// printJSON writes v indented, without HTML escaping (汉字 and <> as they
// are), with controls that encoding/json leaves raw (DEL, C1, bidi) as
// \u escapes (sanitize.JSON).
func printJSON(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(sanitize.JSON(b.Bytes()))
	return err
}

// historyCSVHeader is the header row of the CSV export.
var historyCSVHeader = []string{
	"seq", "time", "level", "level_zh", "state", "hazard", "label_zh", "label_en", "kind", "rule",
	"device", "device_name", "ticket_id", "event_id", "delivered_at", "acked_by", "acked_at",
}

// writeHistoryCSV writes one header row and one row per record, RFC 4180
// quoting (encoding/csv), CRLF line ends as Excel expects, times in RFC
// 3339 with milliseconds in the gateway's zone. Text cells go through
// sanitize.CSVCell: a `by` or a name starting with = + - @ is text, never
// a formula (OWASP CSV injection).
func writeHistoryCSV(w io.Writer, h api.History, bom bool, loc *time.Location) error {
	if bom {
		if _, err := io.WriteString(w, utf8BOM); err != nil {
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
	if err := cw.Write(historyCSVHeader); err != nil {
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
