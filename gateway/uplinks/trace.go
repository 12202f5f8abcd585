package uplinks

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875/centre"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875/link"
)

// TracedFrame is one frame of the centre link, in hex and decoded; its
// texts are stripped of control characters (centre.Clean), so a centre's
// bytes never drive a terminal.
type TracedFrame struct {
	At      time.Time
	Dir     string // "tx" (the gateway wrote it) or "rx" (the centre's)
	Hex     string
	Summary string   // serial, command, source → destination, time label
	Objects []string // the application data unit: type, then one line per object
	Error   string   // why the frame is bad (rx: the gateway denied it)
}

// ErrTraceBusy is returned when link.MaxTracers traces already run.
var ErrTraceBusy = fmt.Errorf("uplinks: %d traces of the centre link already run; try again later", link.MaxTracers)

// traceBuffer bounds the frames waiting for a slow trace reader; more are
// counted as dropped, never waited for (the link must not block).
const traceBuffer = 256

// Trace calls emit with each frame of the centre link for d (or until ctx
// is done or emit fails); dropped counts the frames a slow reader missed.
func (g *GB26875) Trace(ctx context.Context, d time.Duration, emit func(TracedFrame) error) (dropped int, err error) {
	frames := make(chan link.TraceFrame, traceBuffer)
	var lost int
	stop, ok := g.Link.Trace(func(f link.TraceFrame) {
		select {
		case frames <- f:
		default:
			lost++ // under the link's trace lock
		}
	})
	if !ok {
		return 0, ErrTraceBusy
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			stop()
			return lost, ctx.Err()
		case <-t.C:
			stop()
			return lost, nil
		case f := <-frames:
			if err := emit(DecodeFrame(f)); err != nil {
				stop()
				return lost, err
			}
		}
	}
}

// DecodeFrame is a traced frame in hex with its decoding.
func DecodeFrame(f link.TraceFrame) TracedFrame {
	out := TracedFrame{At: f.At, Dir: f.Dir, Hex: hex.EncodeToString(f.Raw)}
	if f.Err != nil {
		out.Error = centre.Clean(f.Err.Error())
	}
	fr, err := gb26875.ParseFrame(f.Raw)
	if err != nil {
		var fe *gb26875.FrameError
		if errors.As(err, &fe) {
			fr = fe.Header
		}
		if out.Error == "" {
			out.Error = centre.Clean(err.Error())
		}
	}
	out.Summary = fmt.Sprintf("#%d %s %s→%s %s", fr.Serial, fr.Command, fr.Source, fr.Dest, fr.Time)
	if err != nil || len(fr.Data) == 0 {
		return out
	}
	app, err := gb26875.DecodeAppData(fr.Data)
	if err != nil {
		out.Objects = []string{centre.Clean(err.Error())}
		return out
	}
	app = centre.Sanitize(app)
	out.Objects = append(out.Objects, fmt.Sprintf("%s (%d)", app.Type.Name(), app.Type))
	for _, o := range app.Objects {
		out.Objects = append(out.Objects, centre.Describe(o))
	}
	return out
}
