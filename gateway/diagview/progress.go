package diagview

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
)

// Progress shows a scan's progress on stderr: a bar redrawn in place on a
// terminal, plain lines (every 10 % and each device found) otherwise.
type Progress struct {
	w      io.Writer
	tty    bool
	total  int
	shown  int // the last tenth printed, plain mode
	drawn  bool
	prefix string
}

// NewProgress is the progress of a scan of req on w.
func NewProgress(w io.Writer, req api.ScanRequest) *Progress {
	bus := req.Bus
	if bus == "" {
		bus = "direct" // --direct --port/--address: the line has no name
	}
	return &Progress{w: w, tty: isTerminal(w), total: req.To - req.From + 1, prefix: fmt.Sprintf("scan %s %d..%d", bus, req.From, req.To)}
}

// Event shows one event of the scan.
func (p *Progress) Event(ev api.StreamEvent) {
	switch {
	case ev.Type == "found" && ev.Found != nil:
		f := ev.Found
		line := fmt.Sprintf("%s: slave %d answers (%s)", p.prefix, f.Slave, orDash(f.Profile))
		if p.tty {
			fmt.Fprintf(p.w, "\r\033[K%s\n", line)
		} else {
			fmt.Fprintln(p.w, line)
		}
	case ev.Type == "progress" && ev.Progress != nil:
		pr := ev.Progress
		left := Age(time.Duration(pr.LeftMS * float64(time.Millisecond)))
		if p.tty {
			const width = 30
			n := width * pr.Done / max(pr.Total, 1)
			fmt.Fprintf(p.w, "\r\033[K[%s%s] %d/%d ids  %d found  about %s left",
				strings.Repeat("#", n), strings.Repeat(".", width-n), pr.Done, pr.Total, pr.Found, left)
			p.drawn = true
			return
		}
		if tenth := 10 * pr.Done / max(pr.Total, 1); tenth > p.shown {
			p.shown = tenth
			line := fmt.Sprintf("%s: %d/%d ids, %d found", p.prefix, pr.Done, pr.Total, pr.Found)
			if pr.Done < pr.Total {
				line += fmt.Sprintf(", about %s left", left)
			}
			fmt.Fprintln(p.w, line)
		}
	}
}

// End clears the bar.
func (p *Progress) End() {
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
