package diagview

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
)

// Trace prints trace frames as they come: aligned columns, or one
// JSON object a line.
type Trace struct {
	w      io.Writer
	json   bool
	loc    *time.Location
	header bool
}

// NewTrace prints on w, as JSON lines if asJSON, times in loc.
func NewTrace(w io.Writer, asJSON bool, loc *time.Location) *Trace {
	return &Trace{w: w, json: asJSON, loc: loc}
}

// Frame prints one frame.
func (t *Trace) Frame(f api.TraceFrame) {
	if t.json {
		b, err := json.Marshal(f)
		if err == nil {
			fmt.Fprintf(t.w, "%s\n", sanitize.JSON(b))
		}
		return
	}
	if !t.header {
		t.header = true
		fmt.Fprintf(t.w, "%-12s  %-4s  %5s  %3s  %9s  %s\n", "TIME", "DIR", "SLAVE", "FC", "LATENCY", "FRAME")
	}
	lat := ""
	if f.LatencyMS > 0 {
		lat = fmt.Sprintf("%.1f ms", f.LatencyMS)
	}
	body := f.Hex
	if f.Error != "" {
		body = strings.TrimSpace(body + "  ! " + f.Error)
	}
	fmt.Fprintf(t.w, "%-12s  %-4s  %5d  %3d  %9s  %s\n", f.At.In(t.loc).Format("15:04:05.000"), sanitize.Line(f.Dir), f.Slave, f.FC, lat, sanitize.Line(body))
}
