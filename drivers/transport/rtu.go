package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbus"
)

// Options are hooks for tests and diagnostics; the zero value is for
// production.
type Options struct {
	// Dial opens the line. nil: the configured serial port (rtu) or a TCP
	// connection to the address (rtu-over-tcp). What it returns must also
	// have SetReadDeadline(time.Time) error, as *os.File and net.Conn do.
	Dial func(ctx context.Context) (io.ReadWriteCloser, error)
	// Trace, when set, sees every frame sent, received or discarded, on
	// the caller's goroutine (`diag trace`). It must not keep Bytes.
	Trace func(Frame)
}

// Frame is one frame on the line, for [Options.Trace].
type Frame struct {
	At    time.Time
	Dir   Dir
	Bytes []byte
	Err   error // why a received frame was rejected, or nil
}

// Dir says which way a traced frame went.
type Dir uint8

// Directions of a traced frame.
const (
	Sent      Dir = iota + 1 // a request
	Received                 // a response, good or rejected
	Discarded                // stale input or noise drained from the line
)

// line is an open serial port or TCP connection.
type line interface {
	io.ReadWriteCloser
	SetReadDeadline(time.Time) error
}

var timeZero time.Time

// rtu is a Modbus RTU master on one line: a serial port, or a TCP stream
// to a serial device server. Not safe for concurrent use.
type rtu struct {
	name    string        // "rtu /dev/ttyUSB0", "rtu-over-tcp 10.0.0.7:4001"
	timeout time.Duration // per request
	char    time.Duration // one character on the wire; 0 on TCP
	gap     time.Duration // t3.5 before each request; 0 on TCP
	silence time.Duration // the silence that ends draining after garbage
	redial  bool          // rtu-over-tcp: close after any error
	dial    func(ctx context.Context) (io.ReadWriteCloser, error)
	trace   func(Frame)
	echo    Echo // the line's local echo of requests
	// echoSeen: the last request whose reply cannot equal it found its
	// echo (Echo auto); then a reply equal to its request (fc 6) is taken
	// for the echo and the reply is read after it.
	echoSeen bool

	conn   line      // nil until the first request, and after an I/O error
	idleAt time.Time // when the last byte sent or received left the line
	buf    [modbus.MaxRTUFrame]byte
}

// NewRTU returns a Modbus RTU master on the serial port of cfg (port, baud,
// data_bits, parity N|E|O, stop_bits; zero values mean 9600 8N1) with
// cfg.Timeout per request. The port is opened on the first request, and
// closed after a read or write error and reopened on the next request, so
// an unplugged USB adapter that comes back is recovered without a restart.
//
// Before each request it keeps the inter-frame gap (t3.5, 1.75 ms above
// 19200 baud) since the last byte on the line and discards stale input
// (TCIFLUSH), so a late reply to an earlier request is never taken for
// the answer. The reply is read as it arrives and ends at the length its
// first bytes announce; garbage, a CRC error or a truncated reply drains
// the line until it is silent and returns an error (see [ErrCRC] etc.).
// Not safe for concurrent use: one owner goroutine per bus.
func NewRTU(cfg Config, opts Options) (Transport, error) {
	s, err := serialSettings(cfg)
	if err != nil {
		return nil, err
	}
	t := &rtu{
		name:    "rtu " + s.port,
		timeout: orDefault(cfg.Timeout),
		char:    s.charTime(),
		gap:     T35(s.baud),
		dial:    opts.Dial,
		trace:   opts.Trace,
		echo:    cfg.Echo,
	}
	switch {
	case cfg.Gap > 0:
		t.gap = cfg.Gap
	case cfg.Gap < 0:
		t.gap = 0
	}
	t.silence = max(t.gap, 10*time.Millisecond) // USB adapters deliver in bursts of up to ~16 ms
	if t.dial == nil {
		t.dial = func(context.Context) (io.ReadWriteCloser, error) { return openSerial(s) }
	}
	return t, nil
}

// NewRTUOverTCP returns a master sending RTU frames (with CRC, no MBAP
// header) over a TCP connection to address, for serial device servers.
// It connects on the first request and closes the connection after any
// error but an exception reply; the next request redials. Otherwise it
// behaves as [NewRTU]. Not safe for concurrent use.
func NewRTUOverTCP(address string, timeout time.Duration, opts Options) Transport {
	t := &rtu{
		name:    "rtu-over-tcp " + address,
		timeout: orDefault(timeout),
		silence: 10 * time.Millisecond,
		redial:  true,
		dial:    opts.Dial,
		trace:   opts.Trace,
	}
	if t.dial == nil {
		t.dial = func(ctx context.Context) (io.ReadWriteCloser, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", address)
		}
	}
	return t
}

func orDefault(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultTimeout
	}
	return d
}

// Read implements Transport.
func (t *rtu) Read(ctx context.Context, slave, fc uint8, addr, count uint16) ([]byte, error) {
	req, err := modbus.ReadRequest(fc, addr, count)
	if err != nil {
		return nil, err
	}
	if slave == 0 || slave > 247 {
		return nil, fmt.Errorf("%s: cannot read from slave %d (1..247)", t.name, slave)
	}
	return t.exchange(ctx, slave, req)
}

// Write implements Transport. A write to slave 0 is a broadcast: it
// returns once sent, without waiting for a reply.
func (t *rtu) Write(ctx context.Context, slave uint8, addr uint16, values []uint16) error {
	req, err := modbus.WriteRequest(addr, values)
	if err != nil {
		return err
	}
	_, err = t.exchange(ctx, slave, req)
	return err
}

// Close implements Transport; a later request reopens the line.
func (t *rtu) Close() error {
	if t.conn == nil {
		return nil
	}
	err := t.conn.Close()
	t.conn = nil
	return err
}

// exchange sends one request PDU and returns the checked data of its
// reply (a copy).
func (t *rtu) exchange(ctx context.Context, slave uint8, req []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(t.timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
		if !time.Now().Before(dl) { // expired, though ctx's timer may not have fired yet
			return nil, fmt.Errorf("%s slave %d: %w", t.name, slave, context.DeadlineExceeded)
		}
	}
	if err := t.open(ctx); err != nil {
		return nil, err
	}
	if err := t.waitGap(ctx); err != nil {
		return nil, err
	}
	if err := t.flush(); err != nil {
		return nil, t.broken("flush", err)
	}
	conn := t.conn
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() { // a cancelled context interrupts the read
		defer close(done)
		_ = conn.SetReadDeadline(time.Unix(1, 0)) // the read then fails; ctx.Err() tells why
	})
	defer func() {
		if !stop() && ctx.Done() != nil {
			<-done
		}
	}()
	sent := modbus.EncodeRTU(slave, req)
	if err := t.send(sent, deadline); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) { // output blocked (flow control, a wedged adapter)
			if t.redial {
				_ = t.Close() // start on a new connection
			}
			return nil, fmt.Errorf("%s slave %d: write: %w: %w", t.name, slave, ErrTimeout, err)
		}
		return nil, t.broken("write", err)
	}
	if slave == 0 {
		return nil, nil // broadcast: no reply
	}
	frame, err := t.receive(ctx, deadline, sent)
	if err != nil {
		t.traceFrame(Received, frame, err)
		return nil, t.fail(ctx, slave, err)
	}
	pdu, err := modbus.DecodeRTU(frame, slave, req[0])
	if err == nil {
		var data []byte
		if data, err = modbus.CheckResponse(req, pdu); err == nil {
			t.traceFrame(Received, frame, nil)
			return append([]byte(nil), data...), nil
		}
	}
	t.traceFrame(Received, frame, err)
	var ex *Exception
	if errors.As(err, &ex) {
		return nil, ex
	}
	return nil, t.fail(ctx, slave, err)
}

// open opens the line if it is not open.
func (t *rtu) open(ctx context.Context) error {
	if t.conn != nil {
		return nil
	}
	dctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	c, err := t.dial(dctx)
	if err != nil {
		return fmt.Errorf("%s: open: %w: %w", t.name, ErrLineDown, err)
	}
	l, ok := c.(line)
	if !ok {
		c.Close()
		return fmt.Errorf("%s: open: %T has no SetReadDeadline", t.name, c)
	}
	t.conn, t.idleAt = l, time.Now()
	return nil
}

// broken closes the line after an I/O error; the next request reopens it.
func (t *rtu) broken(op string, err error) error {
	_ = t.Close() // the line is being discarded after an error
	return fmt.Errorf("%s: %s: %w (the line is closed and reopens on the next request)", t.name, op, err)
}

// waitGap sleeps until t3.5 has passed since the last byte on the line.
// (A timer, no spinning: Go's netpoller sleeps in whole milliseconds, so
// the gap may run up to about 1 ms long; yielding through the last
// millisecond won 0.25 ms per request on a pty for up to 1 ms of CPU.)
func (t *rtu) waitGap(ctx context.Context) error {
	wait := time.Until(t.idleAt.Add(t.gap))
	if wait <= 0 {
		return nil
	}
	tm := time.NewTimer(wait)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// send writes a request frame; idleAt becomes the moment its last
// character leaves the wire. The caller classifies a failure.
func (t *rtu) send(frame []byte, deadline time.Time) error {
	if wd, ok := t.conn.(interface{ SetWriteDeadline(time.Time) error }); ok {
		if err := wd.SetWriteDeadline(deadline); err != nil {
			return err
		}
	}
	t.traceFrame(Sent, frame, nil)
	if _, err := t.conn.Write(frame); err != nil {
		return err
	}
	t.idleAt = time.Now().Add(time.Duration(len(frame)) * t.char)
	return nil
}

// traceFrame reports a frame to Options.Trace.
func (t *rtu) traceFrame(d Dir, b []byte, err error) {
	if t.trace != nil && len(b) > 0 {
		t.trace(Frame{At: time.Now(), Dir: d, Bytes: b, Err: err})
	}
}
