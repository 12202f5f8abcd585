package transport_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbus"
	"github.com/fenghuo-iot/fenghuo/drivers/modbustest"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

// echoLine is a Go fake slave 1 on a socat pty that behaves like a device
// behind a 2-wire half-duplex RS-485 adapter that echoes: the request's own
// bytes come back first, then (a few ms later) the slave's reply. fc 3
// reads answer register i = i; fc 6 and fc 16 writes are answered
// correctly.
type echoLine struct {
	echo   atomic.Bool // the adapter echoes
	silent atomic.Bool // the slave does not answer (the echo still comes)
	refuse atomic.Bool // the slave answers writes with exception 2
	tr     transport.Transport
	frames chan transport.Frame
}

func newEchoLine(t *testing.T, echo transport.Echo, echoing bool) *echoLine {
	t.Helper()
	l := &echoLine{frames: make(chan transport.Frame, 64)}
	l.echo.Store(echoing)
	p := modbustest.StartPty(t)
	modbustest.ServeFakeRTU(t, p.B, l.handle)
	tr, err := transport.OpenWith(transport.Config{Type: "rtu", Port: p.A, Timeout: 2 * time.Second, Echo: echo},
		transport.Options{Trace: func(f transport.Frame) {
			f.Bytes = append([]byte(nil), f.Bytes...)
			select {
			case l.frames <- f:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	l.tr = tr
	return l
}

func (l *echoLine) handle(req []byte) []modbustest.Chunk {
	var cs []modbustest.Chunk
	if l.echo.Load() {
		cs = append(cs, modbustest.Chunk{Bytes: append([]byte(nil), req...)})
	}
	if l.silent.Load() {
		return cs
	}
	var pdu []byte
	switch {
	case l.refuse.Load() && req[1] != modbus.ReadHoldingRegisters:
		pdu = []byte{req[1] | 0x80, modbus.IllegalDataAddress}
		return append(cs, modbustest.Chunk{Delay: 3 * time.Millisecond, Bytes: modbus.EncodeRTU(req[0], pdu)})
	}
	switch req[1] {
	case modbus.ReadHoldingRegisters:
		addr, count := int(req[2])<<8|int(req[3]), int(req[4])<<8|int(req[5])
		pdu = []byte{3, byte(2 * count)}
		for i := range count {
			pdu = append(pdu, byte((addr+i)>>8), byte(addr+i))
		}
	case modbus.WriteSingleRegister:
		pdu = append([]byte(nil), req[1:6]...) // the reply to fc 6 is the request
	case modbus.WriteMultipleRegisters:
		pdu = append([]byte(nil), req[1:6]...)
	default:
		pdu = []byte{req[1] | 0x80, modbus.IllegalFunction}
	}
	return append(cs, modbustest.Chunk{Delay: 3 * time.Millisecond, Bytes: modbus.EncodeRTU(req[0], pdu)})
}

func (l *echoLine) read(t *testing.T) error {
	t.Helper()
	got, err := l.tr.Read(context.Background(), 1, 3, 0x0102, 2)
	if err == nil && string(got) != "\x01\x02\x01\x03" {
		t.Fatalf("read = % X, want 01 02 01 03", got)
	}
	return err
}

// TestEchoAutoSkipsTheRequestsCopy: with the default (auto), a line that
// echoes reads and writes correctly (before, a read failed with "byte
// count 0 in 01 03 …"), and the echo shows in a trace as dropped.
func TestEchoAutoSkipsTheRequestsCopy(t *testing.T) {
	l := newEchoLine(t, "", true)
	for i := range 3 {
		if err := l.read(t); err != nil {
			t.Fatalf("read %d on an echoing line: %v", i, err)
		}
	}
	// fc 6: the echo and the reply are the same bytes. After the reads
	// showed the echo, the reply is read after it: an exception proves it.
	l.refuse.Store(true)
	var ex *transport.Exception
	if err := l.tr.Write(context.Background(), 1, 0x10, []uint16{7}); !errors.As(err, &ex) || ex.Code != modbus.IllegalDataAddress {
		t.Fatalf("fc 6 write refused by the slave behind the echo: %v, want its exception", err)
	}
	l.refuse.Store(false)
	if err := l.tr.Write(context.Background(), 1, 0x10, []uint16{7}); err != nil {
		t.Fatalf("fc 6 write on an echoing line: %v", err)
	}
	if err := l.tr.Write(context.Background(), 1, 0x10, []uint16{7, 8, 9}); err != nil {
		t.Fatalf("fc 16 write on an echoing line: %v", err)
	}
	if err := l.read(t); err != nil {
		t.Fatalf("read after the writes (a reply left on the line?): %v", err)
	}
	dropped := 0
	for len(l.frames) > 0 {
		if f := <-l.frames; f.Dir == transport.Discarded && f.Bytes[0] == 1 {
			dropped++
		}
	}
	if dropped < 5 {
		t.Errorf("%d echoes traced as dropped, want one per request (6)", dropped)
	}
}

// TestEchoAutoWithoutEcho: auto on a line that does not echo changes
// nothing, fc 6 included (its reply equals the request).
func TestEchoAutoWithoutEcho(t *testing.T) {
	l := newEchoLine(t, transport.EchoAuto, false)
	if err := l.tr.Write(context.Background(), 1, 0x10, []uint16{7}); err != nil {
		t.Fatalf("fc 6 before any read: %v", err)
	}
	if err := l.read(t); err != nil {
		t.Fatal(err)
	}
	if err := l.tr.Write(context.Background(), 1, 0x10, []uint16{7}); err != nil {
		t.Fatalf("fc 6 after a read: %v", err)
	}
	// The adapter is swapped for one that echoes, and back.
	l.echo.Store(true)
	if err := l.read(t); err != nil {
		t.Fatalf("read once the line echoes: %v", err)
	}
	l.echo.Store(false)
	if err := l.read(t); err != nil {
		t.Fatal(err)
	}
	if err := l.tr.Write(context.Background(), 1, 0x10, []uint16{7}); err != nil {
		t.Fatalf("fc 6 once the echo is gone: %v", err)
	}
}

// TestEchoSilentSlaveIsATimeout: the echo alone is no reply: a slave
// that does not answer is a timeout, not a frame error.
func TestEchoSilentSlaveIsATimeout(t *testing.T) {
	l := newEchoLine(t, "", true)
	l.silent.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := l.tr.Read(ctx, 1, 3, 0, 1)
	if !errors.Is(err, transport.ErrTimeout) {
		t.Errorf("silent slave behind an echo: %v, want ErrTimeout", err)
	}
}

func TestEchoOffAndOn(t *testing.T) {
	off := newEchoLine(t, transport.EchoOff, true)
	if _, err := off.tr.Read(context.Background(), 1, 3, 0, 10); !errors.Is(err, transport.ErrFrame) || !strings.Contains(err.Error(), "byte count 0 in 01 03") {
		t.Errorf("echo off on an echoing line: %v, want today's frame error", err)
	}
	on := newEchoLine(t, transport.EchoOn, false)
	if err := on.read(t); !errors.Is(err, transport.ErrFrame) || !strings.Contains(err.Error(), "no echo of the request") {
		t.Errorf("echo on without an echo: %v, want an error that says so", err)
	}
	on.echo.Store(true)
	if err := on.read(t); err != nil {
		t.Errorf("echo on with the echo: %v", err)
	}
	if err := on.tr.Write(context.Background(), 1, 0x10, []uint16{7}); err != nil {
		t.Errorf("echo on, fc 6: %v", err)
	}
	if _, err := transport.Open(transport.Config{Type: "rtu", Port: "/dev/null", Echo: "yes"}); err == nil || !strings.Contains(err.Error(), `echo "yes"`) {
		t.Errorf("echo yes: %v, want refused", err)
	}
}
