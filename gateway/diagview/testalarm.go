package diagview

import (
	"fmt"
	"io"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/testalarm"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
)

// TestAlarm prints one stage of a test ticket's way (testalarm.Run), as a
// line with its label in the first 22 columns; wait is the test's.
func TestAlarm(w io.Writer, s testalarm.Stage, r testalarm.Result, wait time.Duration, loc *time.Location) {
	switch s {
	case testalarm.Committed:
		label := r.Hazard
		if h, ok := rules.LookupHazard(r.Hazard); ok {
			label = h.Zh + " " + h.En
		}
		fmt.Fprintf(w, "%-22s %s (seq %d): %s, level %s, rule %s\n", "test ticket committed", Clock(r.CommittedAt, loc), r.Seq,
			sanitize.Line(label), levelName(r.Level), sanitize.Line(r.Rule))
		fmt.Fprintf(w, "%-22s %s\n", "ticket id", sanitize.Line(r.TicketID))
	case testalarm.Sent:
		fmt.Fprintf(w, "%-22s %s (PUBACK, %s after commit)\n", "broker acknowledged", Clock(r.SentAt, loc), short(r.SentAt.Sub(r.CommittedAt)))
	case testalarm.Acked:
		fmt.Fprintf(w, "%-22s %s by %s (%s after PUBACK)\n", "township acknowledged", Clock(r.AckedAt, loc),
			orDash(sanitize.Line(r.AckedBy)), short(r.AckedAt.Sub(r.SentAt)))
	case testalarm.NotAcked:
		fmt.Fprintf(w, "%-22s none within %s (the township may not acknowledge test tickets)\n", "township acknowledged", wait)
	}
}
