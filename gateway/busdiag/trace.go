package busdiag

import (
	"fmt"
	"sync"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/transport"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
)

// FrameConverter turns a transport's traced frames into api.TraceFrames
// for `diag trace`: it times each reply from its request, and reports a
// request that got no reply when the next one goes. Not safe for
// concurrent use: a transport calls its Trace hook on its owner's
// goroutine.
type FrameConverter struct {
	// MBAP is set for a Modbus TCP bus, whose frames start with the MBAP
	// header: a trace line shows the unit id and the PDU, without the
	// transaction id, protocol and length in front.
	MBAP bool

	sent    time.Time // when the last request went
	slave   int       // its slave id and function code
	fc      int
	waiting bool // it is not answered yet
}

// Convert returns the trace lines for f: usually one; two when a request
// went unanswered before f.
func (c *FrameConverter) Convert(f transport.Frame) []api.TraceFrame {
	var out []api.TraceFrame
	if c.MBAP && len(f.Bytes) > mbapLen {
		f.Bytes = f.Bytes[mbapLen:]
	}
	tf := api.TraceFrame{At: f.At, Hex: fmt.Sprintf("% X", f.Bytes)}
	if len(f.Bytes) >= 2 {
		tf.Slave, tf.FC = int(f.Bytes[0]), int(f.Bytes[1])
	}
	if f.Err != nil {
		tf.Error = f.Err.Error()
	}
	switch f.Dir {
	case transport.Sent:
		if c.waiting {
			out = append(out, api.TraceFrame{At: f.At, Dir: "rx", Slave: c.slave, FC: c.fc,
				LatencyMS: millis(f.At.Sub(c.sent)), Error: "no reply before the next request"})
		}
		tf.Dir = "tx"
		c.sent, c.slave, c.fc, c.waiting = f.At, tf.Slave, tf.FC, tf.Slave != 0 // a broadcast gets no reply
	case transport.Received:
		tf.Dir = "rx"
		if c.waiting {
			tf.LatencyMS = millis(f.At.Sub(c.sent))
			if len(f.Bytes) < 2 {
				tf.Slave, tf.FC = c.slave, c.fc
			}
		}
		c.waiting = false
	default:
		tf.Dir, tf.Slave, tf.FC = "drop", 0, 0 // noise: its first bytes are no address
	}
	return append(out, tf)
}

// mbapLen is the MBAP header's transaction id, protocol id and length,
// before the unit id.
const mbapLen = 6

// Tracer fans a bus's frames out to the `diag trace` requests following
// it. Its hook runs on the bus owner's goroutine and never blocks: a
// follower that does not keep up loses frames.
type Tracer struct {
	mu   sync.Mutex
	conv FrameConverter
	subs map[chan api.TraceFrame]struct{}
}

// Hook is the Options.Trace of the bus b's transport.
func (t *Tracer) Hook(b config.Bus) func(transport.Frame) {
	t.mu.Lock()
	t.conv.MBAP = b.Type == "tcp"
	t.mu.Unlock()
	return t.hook
}

func (t *Tracer) hook(f transport.Frame) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.subs) == 0 {
		t.conv.waiting = false // nobody follows: no "no reply" line for an old request
		return
	}
	for _, tf := range t.conv.Convert(f) {
		for ch := range t.subs {
			select {
			case ch <- tf:
			default: // a slow follower loses the frame rather than stall the bus
			}
		}
	}
}

// Follow returns a channel of the bus's frames and its cancel func.
func (t *Tracer) Follow() (<-chan api.TraceFrame, func()) {
	ch := make(chan api.TraceFrame, 1024)
	t.mu.Lock()
	if t.subs == nil {
		t.subs = map[chan api.TraceFrame]struct{}{}
	}
	t.subs[ch] = struct{}{}
	t.mu.Unlock()
	return ch, func() {
		t.mu.Lock()
		delete(t.subs, ch)
		t.mu.Unlock()
	}
}
