package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/diagview"
	"github.com/fenghuo-iot/fenghuo/uplink/atomicfile"
)

// historyFlags are the flags of `diag history`.
type historyFlags struct {
	since, until, export, format string
	noBOM                        bool
}

// newDiagHistoryCmd is `fenghuo diag history`: the stored alarm and fault
// records in time order, as a table or exported as CSV or JSON (GB/T
// 45839 5.3.3: keep and export at least 999).
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
		return q, "", usage(fmt.Errorf("diag history: --until %s is not after --since %s", diagview.Clock(q.Until, localTime), diagview.Clock(q.Since, localTime)))
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
		return failed(api.Explain(socket, err))
	}
	bom := !hf.noBOM
	if hf.export == "" {
		if f.json {
			format = "json"
		}
		return diagview.HistoryAs(c.OutOrStdout(), format, bom, h, localTime)
	}
	err = atomicfile.Write(hf.export, 0o644, func(w io.Writer) error { return diagview.HistoryAs(w, format, bom, h, localTime) })
	if err != nil {
		return failed(fmt.Errorf("export %s: %w", hf.export, err)) // atomic: a failed export leaves no half file
	}
	diagview.Exported(c.OutOrStdout(), hf.export, format, bom, h, localTime)
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
