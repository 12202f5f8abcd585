// Package transporttest is the conformance suite every
// [transport.Transport] passes (STYLE.md habit 4): the same reads, writes,
// exceptions, timeouts and recoveries against fenghuo's simulator, over
// whatever line the implementation speaks.
package transporttest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

// Slave is the simulated slave id the suite talks to; Absent is an id
// nobody answers.
const (
	Slave  uint8 = 7
	Absent uint8 = 9
)

// Timeout is the per-request timeout the suite expects the transport to
// have: long enough for a loaded machine, short enough for a quick suite.
const Timeout = 500 * time.Millisecond

// Run checks a transport. newTransport must return a transport with
// [Timeout] per request, connected to srv, which the suite fills with an
// electrical-fire-1p at [Slave] before the first request.
func Run(t *testing.T, newTransport func(t *testing.T, srv *sim.Server) transport.Transport) {
	set, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := set.Get("electrical-fire-1p")
	setup := func(t *testing.T) (*sim.Device, transport.Transport) {
		srv := sim.NewServer()
		t.Cleanup(func() { srv.Close() })
		dev := srv.AddDevice(Slave, p)
		tr := newTransport(t, srv)
		t.Cleanup(func() { tr.Close() })
		return dev, tr
	}
	ctx := context.Background()
	t.Run("ReadWrite", func(t *testing.T) {
		_, tr := setup(t)
		got, err := tr.Read(ctx, Slave, 3, 256, 4)
		if want := []byte{0x01, 0x2C, 0, 70, 0, 5, 0x02, 0x76}; err != nil || string(got) != string(want) {
			t.Fatalf("read = % X, %v; want % X", got, err, want)
		}
		if err := tr.Write(ctx, Slave, 256, []uint16{250}); err != nil {
			t.Fatal(err)
		}
		if err := tr.Write(ctx, Slave, 257, []uint16{90, 10}); err != nil {
			t.Fatal(err)
		}
		if got, err := tr.Read(ctx, Slave, 3, 256, 3); err != nil || string(got) != string([]byte{0, 250, 0, 90, 0, 10}) {
			t.Errorf("after writes: % X, %v", got, err)
		}
	})
	t.Run("Exception", func(t *testing.T) {
		_, tr := setup(t)
		var ex *transport.Exception
		if _, err := tr.Read(ctx, Slave, 3, 1000, 2); !errors.As(err, &ex) || ex.Code != transport.IllegalDataAddress || ex.Func != 3 {
			t.Fatalf("err = %v, want exception 2 to fc3", err)
		}
		if err := tr.Write(ctx, Slave, 16, []uint16{1}); !errors.As(err, &ex) || ex.Func != 6 {
			t.Errorf("write to a read-only register: %v", err)
		}
		if _, err := tr.Read(ctx, Slave, 3, 0, 3); err != nil {
			t.Errorf("after an exception: %v", err)
		}
	})
	t.Run("TimeoutThenRecover", func(t *testing.T) {
		dev, tr := setup(t)
		dev.SetSilent(true)
		for i := range 2 {
			if _, err := tr.Read(ctx, Slave, 3, 0, 3); !errors.Is(err, transport.ErrTimeout) || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("read %d: %v, want a timeout", i, err)
			}
		}
		dev.SetSilent(false)
		if _, err := tr.Read(ctx, Slave, 3, 0, 3); err != nil {
			t.Fatalf("after SetSilent(false): %v", err)
		}
		if _, err := tr.Read(ctx, Absent, 3, 0, 1); !errors.Is(err, transport.ErrTimeout) {
			t.Errorf("absent slave: %v", err)
		}
		if _, err := tr.Read(ctx, Slave, 3, 0, 1); err != nil {
			t.Errorf("after the absent slave: %v", err)
		}
	})
	t.Run("ContextDeadline", func(t *testing.T) {
		dev, tr := setup(t)
		dev.SetSilent(true)
		cctx, cancel := context.WithTimeout(ctx, Timeout/5)
		defer cancel()
		start := time.Now()
		if _, err := tr.Read(cctx, Slave, 3, 0, 1); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > Timeout {
			t.Fatalf("err = %v after %v", err, time.Since(start))
		}
		if _, err := tr.Read(cctx, Slave, 3, 0, 1); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("expired context: %v", err)
		}
	})
	t.Run("BadArguments", func(t *testing.T) {
		_, tr := setup(t)
		for _, c := range []struct {
			fc    uint8
			count uint16
		}{{3, 0}, {3, 126}, {1, 2001}, {5, 1}} {
			if _, err := tr.Read(ctx, Slave, c.fc, 0, c.count); err == nil {
				t.Errorf("fc%d count %d: want an error", c.fc, c.count)
			}
		}
		if err := tr.Write(ctx, Slave, 0, nil); err == nil {
			t.Error("empty write: want an error")
		}
	})
}
