package transport

import (
	"bytes"
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

// receive reads one response frame to the request frame sent as it
// arrives. It ends the frame at the length its first bytes announce (5 for
// an exception, 5 + byte count for fc 1–4, 8 for writes), at the deadline,
// or on the first byte that cannot start a response. The line's echo of
// sent, if any (see [Config.Echo]), is skipped first. It returns what it
// read, also with an error.
func (t *rtu) receive(ctx context.Context, deadline time.Time, sent []byte) ([]byte, error) {
	if err := t.conn.SetReadDeadline(deadline); err != nil {
		return nil, &ioError{"read", err}
	}
	n, want := 0, 0
	echo := t.lookForEcho(sent)
	for want == 0 || n < want {
		m, err := t.conn.Read(t.buf[n:])
		if m > 0 {
			n += m
			t.idleAt = time.Now()
		}
		if echo && n > 0 {
			switch t.matchEcho(sent, n) {
			case echoFound:
				t.traceFrame(Discarded, t.buf[:len(sent)], nil)
				n = copy(t.buf[:], t.buf[len(sent):n])
				echo = false
			case echoNone:
				echo = false
				if t.echo == EchoOn {
					return t.buf[:n], fmt.Errorf("%w: no echo of the request (% X) before the reply (% X); the bus has echo: on", modbus.ErrFrame, sent, t.buf[:n])
				}
			}
		}
		if !echo && want == 0 {
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
		if echo {
			return t.buf[:n], fmt.Errorf("%w: %d bytes by the deadline, the start of the request's echo (% X)", modbus.ErrFrame, n, t.buf[:n])
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

// Outcomes of matchEcho.
const (
	echoPending = iota // the input so far is the start of the request
	echoFound          // the input starts with the whole request
	echoNone           // the input is not the request
)

// lookForEcho reports whether receive looks for the echo of sent. With
// echo auto, a request whose correct reply is an exact copy of it (fc 5,
// 6) is taken for echoed only when the last request that showed it was.
func (t *rtu) lookForEcho(sent []byte) bool {
	switch t.echo {
	case EchoOff:
		return false
	case EchoOn:
		return true
	}
	switch sent[1] {
	case modbus.WriteSingleCoil, modbus.WriteSingleRegister:
		return t.echoSeen
	}
	return true
}

// matchEcho compares the first n bytes of input with the request sent.
// With echo auto, the outcome teaches echoSeen; and a complete, correct
// reply that is a prefix of the request (a short fc 1 reply can be) is
// the reply, not a partial echo.
func (t *rtu) matchEcho(sent []byte, n int) int {
	k := min(n, len(sent))
	switch {
	case !bytes.Equal(t.buf[:k], sent[:k]):
		t.learnEcho(sent, false)
		return echoNone
	case n >= len(sent):
		t.learnEcho(sent, true)
		return echoFound
	case t.echo != EchoOn:
		if w, err := modbus.RTUResponseLen(t.buf[:n]); err == nil && w == n {
			if _, err := modbus.DecodeRTU(t.buf[:n], sent[0], sent[1]); err == nil {
				t.learnEcho(sent, false)
				return echoNone
			}
		}
	}
	return echoPending
}

// learnEcho records whether a request whose reply cannot equal it was
// echoed (an adapter swapped for one that does not echo unlearns it).
func (t *rtu) learnEcho(sent []byte, echoed bool) {
	if sent[1] != modbus.WriteSingleCoil && sent[1] != modbus.WriteSingleRegister {
		t.echoSeen = echoed
	}
}
