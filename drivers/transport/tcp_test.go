package transport_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

// newSim starts a simulator with an electrical-fire-1p at slave 7.
func newSim(t *testing.T) (*sim.Server, *sim.Device) {
	t.Helper()
	set, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sim.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	p, _ := set.Get("electrical-fire-1p")
	return srv, srv.AddDevice(7, p)
}

func newTCP(t *testing.T, addr string, timeout time.Duration) transport.Transport {
	t.Helper()
	tr := transport.NewTCP(addr, timeout)
	t.Cleanup(func() { tr.Close() })
	return tr
}

func TestTCPReadWrite(t *testing.T) {
	srv, _ := newSim(t)
	tr := newTCP(t, srv.Addr(), time.Second)
	ctx := context.Background()
	got, err := tr.Read(ctx, 7, 3, 256, 4) // residual_setpoint … rated_current
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x01, 0x2C, 0, 70, 0, 5, 0x02, 0x76}; string(got) != string(want) {
		t.Errorf("read = % X, want % X", got, want)
	}
	if err := tr.Write(ctx, 7, 256, []uint16{250}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Write(ctx, 7, 257, []uint16{90, 10}); err != nil {
		t.Fatal(err)
	}
	got, err = tr.Read(ctx, 7, 3, 256, 3)
	if err != nil || string(got) != string([]byte{0, 250, 0, 90, 0, 10}) {
		t.Errorf("after writes: % X, %v", got, err)
	}
}

func TestTCPException(t *testing.T) {
	srv, _ := newSim(t)
	tr := newTCP(t, srv.Addr(), time.Second)
	ctx := context.Background()
	_, err := tr.Read(ctx, 7, 3, 1000, 2)
	var ex *transport.Exception
	if !errors.As(err, &ex) || ex.Code != transport.IllegalDataAddress || ex.Func != 3 {
		t.Fatalf("err = %v, want exception 2 to fc3", err)
	}
	if !strings.Contains(err.Error(), "illegal data address") {
		t.Errorf("message: %v", err)
	}
	// a read-only register refuses a write
	if err := tr.Write(ctx, 7, 16, []uint16{1}); !errors.As(err, &ex) || ex.Func != 6 {
		t.Errorf("write to a read-only register: %v", err)
	}
	// the transport recovers on the next request
	if _, err := tr.Read(ctx, 7, 3, 0, 3); err != nil {
		t.Errorf("read after an exception: %v", err)
	}
}

func TestTCPSilentSlaveTimesOutThenRecovers(t *testing.T) {
	srv, dev := newSim(t)
	tr := newTCP(t, srv.Addr(), 150*time.Millisecond)
	ctx := context.Background()
	dev.SetSilent(true)
	for i := range 2 { // a second timeout must be a timeout too, not a transaction-id mismatch
		start := time.Now()
		_, err := tr.Read(ctx, 7, 3, 0, 3)
		if !errors.Is(err, transport.ErrTimeout) || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read %d: err = %v, want a timeout", i, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("timeout took %v", d)
		}
	}
	dev.SetSilent(false)
	if _, err := tr.Read(ctx, 7, 3, 0, 3); err != nil {
		t.Fatalf("after SetSilent(false): %v", err)
	}
	// an unknown slave does not answer either
	if _, err := tr.Read(ctx, 9, 3, 0, 1); !errors.Is(err, transport.ErrTimeout) {
		t.Errorf("unknown slave: %v", err)
	}
	if _, err := tr.Read(ctx, 7, 3, 0, 1); err != nil {
		t.Errorf("after the unknown slave: %v", err)
	}
}

func TestTCPContextDeadlineShortensTimeout(t *testing.T) {
	srv, dev := newSim(t)
	dev.SetSilent(true)
	tr := newTCP(t, srv.Addr(), 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := tr.Read(ctx, 7, 3, 0, 1)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
	if _, err := tr.Read(ctx, 7, 3, 0, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("expired context: %v", err)
	}
}

func TestTCPConnectionRefusedAndBadArgs(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	tr := newTCP(t, addr, time.Second)
	ctx := context.Background()
	_, err = tr.Read(ctx, 1, 3, 0, 1)
	var ex *transport.Exception
	if err == nil || errors.As(err, &ex) || !strings.Contains(err.Error(), addr) {
		t.Errorf("refused: %v", err)
	}
	for _, c := range []struct {
		fc    uint8
		count uint16
	}{{3, 0}, {3, 126}, {1, 2001}, {5, 1}} {
		if _, err := tr.Read(ctx, 1, c.fc, 0, c.count); err == nil {
			t.Errorf("fc%d count %d: want an error", c.fc, c.count)
		}
	}
	if err := tr.Write(ctx, 1, 0, nil); err == nil {
		t.Error("empty write: want an error")
	}
}

func TestOpen(t *testing.T) {
	// rtu and rtu-over-tcp check their settings but open on the first request
	for _, c := range []transport.Config{
		{Type: "rtu"},
		{Type: "rtu", Port: "/dev/ttyS1", Parity: "X"},
		{Type: "rtu", Port: "/dev/ttyS1", Baud: 9601},
		{Type: "rtu", Port: "/dev/ttyS1", DataBits: 7},
		{Type: "rtu", Port: "/dev/ttyS1", StopBits: 3},
		{Type: "rtu-over-tcp"},
	} {
		if _, err := transport.Open(c); err == nil {
			t.Errorf("%+v: want an error", c)
		}
	}
	for _, c := range []transport.Config{
		{Type: "rtu", Port: "/dev/does-not-exist"},
		{Type: "rtu", Port: "/dev/does-not-exist", Baud: 2400, Parity: "E", DataBits: 8, StopBits: 1},
		{Type: "rtu-over-tcp", Address: "127.0.0.1:1"},
	} {
		tr, err := transport.Open(c)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		_, err = tr.Read(context.Background(), 1, 3, 0, 1)
		var ex *transport.Exception
		if err == nil || errors.As(err, &ex) || errors.Is(err, transport.ErrTimeout) || !errors.Is(err, transport.ErrLineDown) {
			t.Errorf("%+v: read = %v, want an open error (ErrLineDown)", c, err)
		}
		tr.Close()
	}
	if _, err := transport.Open(transport.Config{Type: "udp"}); err == nil {
		t.Error("udp: want an error")
	}
	tr, err := transport.Open(transport.Config{Type: "tcp", Address: "127.0.0.1:1"})
	if err != nil || tr == nil {
		t.Fatalf("tcp: %v", err)
	}
	if _, err := tr.Read(context.Background(), 1, 3, 0, 1); !errors.Is(err, transport.ErrLineDown) || errors.Is(err, transport.ErrTimeout) {
		t.Errorf("tcp to a closed port: read = %v, want ErrLineDown", err)
	}
	tr.Close()
}

// TestTCPTrace: Options.Trace sees each ADU on the wire, MBAP header
// first; a reply carries the error its request ended with.
func TestTCPTrace(t *testing.T) {
	srv, _ := newSim(t)
	var got []string
	tr, err := transport.OpenWith(transport.Config{Type: "tcp", Address: srv.Addr(), Timeout: time.Second},
		transport.Options{Trace: func(f transport.Frame) {
			line := fmt.Sprintf("%d % X", f.Dir, f.Bytes)
			if f.Err != nil {
				line += " ! " + f.Err.Error()
			}
			got = append(got, line)
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	ctx := context.Background()
	if _, err := tr.Read(ctx, 7, 3, 256, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Read(ctx, 7, 3, 1000, 2); err == nil {
		t.Fatal("read of 1000: no exception")
	}
	if err := tr.Write(ctx, 7, 256, []uint16{250}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"1 00 01 00 00 00 06 07 03 01 00 00 01",
		"2 00 01 00 00 00 05 07 03 02 01 2C",
		// the transport redials after an error; goburrow's ids go on
		"1 00 02 00 00 00 06 07 03 03 E8 00 02",
		"2 00 02 00 00 00 03 07 83 02 ! modbus exception 2 (illegal data address) to fc3",
		"1 00 03 00 00 00 06 07 06 01 00 00 FA",
		"2 00 03 00 00 00 06 07 06 01 00 00 FA",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("trace:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
