package diagview

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
)

// addConfig adds the running config and the last reload attempt to the
// status table (absent before the first reload).
func addConfig(t *table, c api.ConfigStatus, loc *time.Location) {
	if c.Hash == "" {
		return
	}
	t.add("config", fmt.Sprintf("%s, loaded %s", c.Hash, Clock(c.LoadedAt, loc)))
	r := c.LastReload
	if r == nil {
		return
	}
	line := fmt.Sprintf("%s %s (%s)", Clock(r.At, loc), reloadOutcome(*r), r.Source)
	t.add("last reload", line)
	for _, p := range r.Problems {
		t.add("", "  "+p)
	}
}

// reloadOutcome is ok, unchanged or REFUSED with the count of problems.
func reloadOutcome(r api.Reload) string {
	switch {
	case r.OK && r.Unchanged:
		return "ok, unchanged"
	case r.OK:
		return "ok"
	}
	return fmt.Sprintf("REFUSED, %d %s; the previous config keeps running", len(r.Problems), Plural(len(r.Problems), "problem"))
}

// Reload prints the outcome of `diag reload`: what was applied, or every
// problem with its key path. It reports whether the config was refused.
func Reload(w io.Writer, r api.Reload) (refused bool) {
	fmt.Fprintf(w, "reload of %s: %s\n", sanitize.Line(r.Path), reloadOutcome(r))
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  %s\n", sanitize.Line(p))
	}
	if !r.OK {
		return true
	}
	fmt.Fprintf(w, "config %s\n", sanitize.Line(r.ConfigHash))
	if r.Unchanged {
		return false
	}
	var t table
	t.add("buses kept polling", list(r.BusesKept))
	t.add("buses stopped", list(r.BusesStopped))
	t.add("buses started", list(r.BusesStarted))
	t.add("open tickets kept", fmt.Sprint(r.TicketsKept))
	if r.UplinkMoved {
		t.add("uplink", "reconnecting to "+sanitize.Line(r.UplinkBroker)+" (new connection settings)")
	}
	if r.TicketsClosed > 0 {
		t.add("tickets closed", fmt.Sprintf("%d (their device or rule was removed)", r.TicketsClosed))
	}
	t.write(w)
	return false
}

func list(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}
