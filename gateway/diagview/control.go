package diagview

import (
	"fmt"
	"io"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
)

// Control prints the outcome of `fenghuo diag control`: what was written
// where, how the device answered, and whether the operation was recorded.
func Control(w io.Writer, res api.Control) {
	line := fmt.Sprintf("%s %s: wrote %v to %s (register %d): %s", res.Device, res.Action, res.Value, res.Point, res.Address, res.Result)
	if res.Error != "" {
		line += fmt.Sprintf(" (%s)", res.Error)
	}
	fmt.Fprintln(w, sanitize.Line(line)) // the device's error, a profile's names
	switch {
	case res.RecordError != "":
		fmt.Fprintf(w, "the operation was NOT recorded in the outbox: %s\n", sanitize.Line(res.RecordError))
	case res.Seq != 0:
		fmt.Fprintf(w, "recorded as operation %s (seq %d)\n", sanitize.Line(res.TicketID), res.Seq)
	default:
		fmt.Fprintln(w, "recorded in the outbox (sent when the daemon runs)")
	}
}
