package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbus"
)

// ioError is a read or write error of the line itself (an unplugged
// adapter, a reset connection): the line is closed and reopened.
type ioError struct {
	op  string
	err error
}

func (e *ioError) Error() string { return e.op + ": " + e.err.Error() }
func (e *ioError) Unwrap() error { return e.err }

// errNoReply: not one byte before the deadline.
var errNoReply = errors.New("no reply")

// receive reads one response frame as it arrives. It ends the frame at the
// length its first bytes announce (5 for an exception, 5 + byte count for
// fc 1–4, 8 for writes), at the deadline, or on the first byte that cannot
// start a response. It returns what it read, also with an error.
func (t *rtu) receive(ctx context.Context, deadline time.Time) ([]byte, error) {
	if err := t.conn.SetReadDeadline(deadline); err != nil {
		return nil, &ioError{"read", err}
	}
	n, want := 0, 0
	for want == 0 || n < want {
		m, err := t.conn.Read(t.buf[n:])
		if m > 0 {
			n += m
			t.idleAt = time.Now()
		}
		if want == 0 {
			w, ferr := modbus.RTUResponseLen(t.buf[:n])
			if ferr != nil {
				return t.buf[:n], ferr
			}
			want = w
		}
		if want > 0 && n >= want {
			break
		}
		if n == len(t.buf) {
			return t.buf[:n], fmt.Errorf("%w: %d bytes without a frame end", modbus.ErrFrame, n)
		}
		if err == nil {
			continue
		}
		if errors.Is(ctx.Err(), context.Canceled) {
			return t.buf[:n], ctx.Err()
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return t.buf[:n], &ioError{"read", err}
		}
		if n == 0 {
			return nil, errNoReply
		}
		return t.buf[:n], fmt.Errorf("%w: truncated, %d of %d bytes by the deadline (% X)", modbus.ErrFrame, n, want, t.buf[:n])
	}
	if n > want {
		return t.buf[:n], fmt.Errorf("%w: %d bytes after a %d-byte frame (% X)", modbus.ErrFrame, n-want, want, t.buf[:n])
	}
	return t.buf[:n], nil
}

// fail classifies a failed receive or a rejected frame and leaves the line
// clean for the next request: closed after an I/O error (and after any
// error on TCP), drained until silent after garbage on a serial line.
func (t *rtu) fail(ctx context.Context, slave uint8, err error) error {
	var ioe *ioError
	if errors.As(err, &ioe) {
		return t.broken(ioe.op, ioe.err)
	}
	if t.redial {
		_ = t.Close() // a device server may still deliver the rest: start on a new connection
	}
	switch {
	case errors.Is(err, errNoReply):
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			return fmt.Errorf("%s slave %d: %w (%w) after %v: %w", t.name, slave, ErrTimeout, context.DeadlineExceeded, t.timeout, os.ErrDeadlineExceeded)
		}
		return fmt.Errorf("%s slave %d: %w after %v: %w", t.name, slave, ErrTimeout, t.timeout, os.ErrDeadlineExceeded)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s slave %d: %w", t.name, slave, err)
	}
	if t.conn != nil {
		if derr := t.drain(); derr != nil {
			return fmt.Errorf("%s slave %d: %w; then %w", t.name, slave, err, derr)
		}
	}
	return fmt.Errorf("%s slave %d: %w", t.name, slave, err)
}

// drain reads and discards input until the line has been silent for
// t.silence, for at most the request timeout (a line that never goes
// quiet is reported, and the next request flushes again).
func (t *rtu) drain() error {
	limit := time.Now().Add(t.timeout)
	for {
		until := time.Now().Add(t.silence)
		if until.After(limit) {
			return fmt.Errorf("%w: the line did not go silent within %v", modbus.ErrFrame, t.timeout)
		}
		if err := t.conn.SetReadDeadline(until); err != nil {
			return t.broken("drain", err)
		}
		n, err := t.conn.Read(t.buf[:])
		if n > 0 {
			t.idleAt = time.Now()
			t.traceFrame(Discarded, t.buf[:n], nil)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil
		}
		if err != nil {
			return t.broken("drain", err)
		}
	}
}

// flush discards stale input before a request: TCIFLUSH on a serial port;
// non-blocking reads until EAGAIN on a TCP socket; reads with a very short
// deadline on any other line (a Dial hook's pipe).
func (t *rtu) flush() error {
	if f, ok := t.conn.(interface{ FlushInput() error }); ok {
		return f.FlushInput()
	}
	if c, ok := t.conn.(net.Conn); ok {
		if sc, ok := c.(syscall.Conn); ok {
			if err := t.flushSocket(sc); !errors.Is(err, errors.ErrUnsupported) {
				return err
			}
		}
	}
	for {
		if err := t.conn.SetReadDeadline(time.Now().Add(200 * time.Microsecond)); err != nil {
			return err
		}
		n, err := t.conn.Read(t.buf[:])
		if n > 0 {
			t.traceFrame(Discarded, t.buf[:n], nil)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
