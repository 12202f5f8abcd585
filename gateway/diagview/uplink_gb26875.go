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

// CentreProbeStart prints what `diag uplink` probes on the GB/T 26875.3
// side: the centre and the device address the gateway reports as.
func CentreProbeStart(w io.Writer, centre string, address, centreAddress uint64) {
	fmt.Fprintf(w, "%-8s %s (device address %d, centre address %d)\n", "centre", sanitize.Line(centre), address, centreAddress)
}

// CentreProbeStep prints one step of the centre probe (tcp, confirm) like
// the broker's steps.
func CentreProbeStep(w io.Writer, step string, ok bool, ms float64, detail, errText string) {
	status, msg := "ok", detail
	if !ok {
		status, msg = "FAILED", errText
	}
	name := strings.ToUpper(step)
	if step == "confirm" {
		name = "confirm"
	}
	fmt.Fprintf(w, "%-8s %-6s %-7s %s\n", name, status, latency(max(ms, 0.1)), sanitize.Line(msg))
}

// UplinkTrace prints the frames of an uplink's link (`diag trace
// --uplink`): time, direction, the decoded header, each object of the
// application data and the frame in hex; or one JSON object a line.
type UplinkTrace struct {
	w      io.Writer
	json   bool
	loc    *time.Location
	header bool
}

// NewUplinkTrace prints on w, as JSON lines if asJSON, times in loc.
func NewUplinkTrace(w io.Writer, asJSON bool, loc *time.Location) *UplinkTrace {
	return &UplinkTrace{w: w, json: asJSON, loc: loc}
}

// Frame prints one frame. The daemon already stripped the decoded texts
// of control characters; they are sanitised again here (defence in depth).
func (t *UplinkTrace) Frame(f api.UplinkFrame) {
	if t.json {
		if b, err := json.Marshal(f); err == nil {
			fmt.Fprintf(t.w, "%s\n", sanitize.JSON(b))
		}
		return
	}
	if !t.header {
		t.header = true
		fmt.Fprintf(t.w, "%-12s  %-3s  %s\n", "TIME", "DIR", "FRAME")
	}
	const indent = "                   "
	fmt.Fprintf(t.w, "%-12s  %-3s  %s\n", f.At.In(t.loc).Format("15:04:05.000"), sanitize.Line(f.Dir), sanitize.Line(f.Summary))
	for _, o := range f.Objects {
		fmt.Fprintf(t.w, "%s%s\n", indent, sanitize.Line(o))
	}
	if f.Error != "" {
		fmt.Fprintf(t.w, "%s! %s\n", indent, sanitize.Line(f.Error))
	}
	fmt.Fprintf(t.w, "%s%s\n", indent, sanitize.Line(f.Hex))
}
