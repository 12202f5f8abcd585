package transport

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/goburrow/modbus"

	fmodbus "github.com/fenghuo-iot/fenghuo/drivers/modbus"
)

// tcpTransport is Modbus TCP over goburrow/modbus v0.1.0's TCP handler.
type tcpTransport struct {
	address string
	timeout time.Duration
	handler *modbus.TCPClientHandler // nil until the first request
	client  modbus.Client
	trace   func(Frame) // Options.Trace, or nil
	reply   Frame       // the traced reply of the request under way
}

// NewTCP returns a Modbus TCP transport to address ("host:port") with a
// per-request timeout (connect, write and read). It connects lazily, on
// the first request, and closes the connection after any error, so the
// next request redials: goburrow's TCP client fails every later read on a
// connection after one timeout (transaction id mismatch, DESIGN.md §9).
// A context deadline earlier than the timeout shortens the request; a
// cancellation without deadline is seen only between requests.
// Not safe for concurrent use.
func NewTCP(address string, timeout time.Duration) Transport {
	return NewTCPWith(address, timeout, Options{})
}

// NewTCPWith is [NewTCP] with hooks: Options.Trace sees each request and
// reply as the ADU on the wire (the 7-byte MBAP header, then the PDU); a
// reply is traced when the request ends, with the error it ended with.
func NewTCPWith(address string, timeout time.Duration, opts Options) Transport {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &tcpTransport{address: address, timeout: timeout, trace: opts.Trace}
}

// prepare connects lazily and applies the slave id and the timeout.
func (t *tcpTransport) prepare(ctx context.Context, slave uint8) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if t.handler == nil {
		t.handler = modbus.NewTCPClientHandler(t.address)
		t.handler.IdleTimeout = 0 // no idle-close timer goroutine; we close on errors
		t.client = modbus.NewClient(t.handler)
		if t.trace != nil {
			t.client = modbus.NewClient2(t.handler, tracingSender{t})
		}
	}
	timeout := t.timeout
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < timeout {
			timeout = max(left, time.Millisecond)
		}
	}
	t.handler.Timeout = timeout
	t.handler.SlaveId = slave
	return nil
}

// Read implements Transport.
func (t *tcpTransport) Read(ctx context.Context, slave, fc uint8, addr, count uint16) ([]byte, error) {
	want, err := readSize(fc, count)
	if err != nil {
		return nil, err
	}
	if err := t.prepare(ctx, slave); err != nil {
		return nil, err
	}
	var data []byte
	switch fc {
	case 1:
		data, err = t.client.ReadCoils(addr, count)
	case 2:
		data, err = t.client.ReadDiscreteInputs(addr, count)
	case 3:
		data, err = t.client.ReadHoldingRegisters(addr, count)
	case 4:
		data, err = t.client.ReadInputRegisters(addr, count)
	}
	if err == nil && len(data) != want {
		err = fmt.Errorf("reply has %d data bytes, want %d", len(data), want)
	}
	if err != nil {
		err = t.fail(ctx, err)
		t.traceReply(err)
		return nil, err
	}
	t.traceReply(nil)
	return append([]byte(nil), data...), nil
}

// readSize checks fc and count and returns the data bytes of a good reply.
func readSize(fc uint8, count uint16) (int, error) { return fmodbus.ReadSize(fc, count) }

// Write implements Transport.
func (t *tcpTransport) Write(ctx context.Context, slave uint8, addr uint16, values []uint16) error {
	if len(values) < 1 || len(values) > 123 {
		return fmt.Errorf("write: %d registers is out of range 1..123", len(values))
	}
	if err := t.prepare(ctx, slave); err != nil {
		return err
	}
	var err error
	if len(values) == 1 {
		_, err = t.client.WriteSingleRegister(addr, values[0])
	} else {
		buf := make([]byte, 2*len(values))
		for i, v := range values {
			binary.BigEndian.PutUint16(buf[2*i:], v)
		}
		_, err = t.client.WriteMultipleRegisters(addr, uint16(len(values)), buf)
	}
	if err != nil {
		err = t.fail(ctx, err)
	}
	t.traceReply(err)
	return err
}

// fail closes the connection (the next request redials) and classifies
// err: an exception reply, a timeout, or the error as it is.
func (t *tcpTransport) fail(ctx context.Context, err error) error {
	t.closeConn()
	var me *modbus.ModbusError
	if errors.As(err, &me) && me.FunctionCode&0x80 != 0 {
		return &Exception{Func: me.FunctionCode &^ 0x80, Code: me.ExceptionCode}
	}
	if oe := (*net.OpError)(nil); errors.As(err, &oe) && oe.Op == "dial" {
		return fmt.Errorf("modbus tcp %s: %w: %w", t.address, ErrLineDown, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			return fmt.Errorf("modbus tcp %s: %w (%w) after %v: %w", t.address, ErrTimeout, context.DeadlineExceeded, t.handler.Timeout, err)
		}
		return fmt.Errorf("modbus tcp %s: %w after %v: %w", t.address, ErrTimeout, t.handler.Timeout, err)
	}
	return fmt.Errorf("modbus tcp %s: %w", t.address, err)
}

func (t *tcpTransport) closeConn() {
	if t.handler != nil {
		_ = t.handler.Close() // the connection is being discarded after an error
	}
}

// Close implements Transport.
func (t *tcpTransport) Close() error {
	if t.handler == nil {
		return nil
	}
	return t.handler.Close()
}

// tracingSender sends ADUs through the handler and traces them: the
// request at once, the reply (held in reply) when the request ends.
type tracingSender struct{ t *tcpTransport }

// Send implements goburrow's Transporter.
func (s tracingSender) Send(adu []byte) ([]byte, error) {
	s.t.trace(Frame{At: time.Now(), Dir: Sent, Bytes: adu})
	res, err := s.t.handler.Send(adu)
	if len(res) > 0 {
		s.t.reply = Frame{At: time.Now(), Dir: Received, Bytes: append([]byte(nil), res...)}
	}
	return res, err
}

// traceReply traces the held reply, if any, with err (nil, an exception,
// a malformed reply); a request that got no reply traces nothing.
func (t *tcpTransport) traceReply(err error) {
	if t.trace == nil || t.reply.Bytes == nil {
		return
	}
	f := t.reply
	f.Err, t.reply = err, Frame{}
	t.trace(f)
}
