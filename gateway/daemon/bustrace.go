package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbus"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
)

// FrameConverter turns a transport's traced frames into api.TraceFrames
// for `diag trace`: it times each reply from its request, and reports a
// request that got no reply when the next one goes. Not safe for
// concurrent use: a transport calls its Trace hook on its owner's
// goroutine.
type FrameConverter struct {
	sent    time.Time // when the last request went
	slave   int       // its slave id and function code
	fc      int
	waiting bool // it is not answered yet
}

// Convert returns the trace lines for f: usually one; two when a request
// went unanswered before f.
func (c *FrameConverter) Convert(f transport.Frame) []api.TraceFrame {
	var out []api.TraceFrame
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

// tracer fans a bus's frames out to the `diag trace` requests following
// it. Its hook runs on the bus owner's goroutine and never blocks: a
// follower that does not keep up loses frames.
type tracer struct {
	conv FrameConverter // owner goroutine only
	mu   sync.Mutex
	subs map[chan api.TraceFrame]struct{}
}

// hook is the transport's Options.Trace.
func (t *tracer) hook(f transport.Frame) {
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

// follow returns a channel of the bus's frames and its cancel func.
func (t *tracer) follow() (<-chan api.TraceFrame, func()) {
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

// tracedTCP gives a Modbus TCP transport (which has no Trace hook) trace
// frames: the PDU with the unit id in front, as an RTU frame without CRC
// (goburrow builds the MBAP header out of sight).
type tracedTCP struct {
	transport.Transport
	trace func(transport.Frame)
}

// Read implements transport.Transport.
func (t tracedTCP) Read(ctx context.Context, slave, fc uint8, addr, count uint16) ([]byte, error) {
	req, _ := modbus.ReadRequest(fc, addr, count) // nil for a bad request: the transport says why
	t.trace(transport.Frame{At: time.Now(), Dir: transport.Sent, Bytes: append([]byte{slave}, req...)})
	data, err := t.Transport.Read(ctx, slave, fc, addr, count)
	t.answer(slave, fc, append([]byte{byte(len(data))}, data...), err)
	return data, err
}

// Write implements transport.Transport.
func (t tracedTCP) Write(ctx context.Context, slave uint8, addr uint16, values []uint16) error {
	req, _ := modbus.WriteRequest(addr, values)
	t.trace(transport.Frame{At: time.Now(), Dir: transport.Sent, Bytes: append([]byte{slave}, req...)})
	err := t.Transport.Write(ctx, slave, addr, values)
	if len(req) >= 5 {
		t.answer(slave, req[0], req[1:5], err)
	}
	return err
}

// answer traces the reply of a request: the data, the exception, or the
// error with no bytes.
func (t tracedTCP) answer(slave, fc uint8, body []byte, err error) {
	f := transport.Frame{At: time.Now(), Dir: transport.Received, Err: err}
	var ex *modbus.Exception
	switch {
	case err == nil:
		f.Bytes = append([]byte{slave, fc}, body...)
	case errors.As(err, &ex):
		f.Bytes = []byte{slave, fc | 0x80, ex.Code}
	}
	t.trace(f)
}
