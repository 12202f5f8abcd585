package sim_test

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbustest"
	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

func TestServeRTUOnPty(t *testing.T) {
	set, _, _ := start(t)
	a, b := modbustest.PtyPair(t)
	srv := sim.NewServer()
	dev := srv.AddDevice(7, get(t, set, "electrical-fire-1p"))
	f, err := os.OpenFile(b, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeRTU(f, sim.RTUOptions{Turnaround: time.Millisecond}) }()
	t.Cleanup(func() {
		f.Close()
		<-done
	})
	tr, err := transport.Open(transport.Config{Type: "rtu", Port: a, Baud: 19200, Parity: "E", Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	ctx := context.Background()
	got, err := tr.Read(ctx, 7, 3, 256, 4)
	if want := []byte{0x01, 0x2C, 0, 70, 0, 5, 0x02, 0x76}; err != nil || string(got) != string(want) {
		t.Fatalf("read = % X, %v; want % X", got, err, want)
	}
	if err := tr.Write(ctx, 7, 256, []uint16{250}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Write(ctx, 7, 257, []uint16{90, 10}); err != nil {
		t.Fatal(err)
	}
	if got, err := tr.Read(ctx, 7, 3, 256, 3); err != nil || string(got) != string([]byte{0, 250, 0, 90, 0, 10}) {
		t.Errorf("after writes: % X, %v", got, err)
	}
	var ex *transport.Exception
	if _, err := tr.Read(ctx, 7, 3, 1000, 2); !errors.As(err, &ex) || ex.Code != transport.IllegalDataAddress {
		t.Errorf("outside the map: %v", err)
	}
	dev.SetSilent(true)
	if _, err := tr.Read(ctx, 7, 3, 256, 1); !errors.Is(err, transport.ErrTimeout) {
		t.Errorf("silent: %v", err)
	}
	dev.SetSilent(false)
	if _, err := tr.Read(ctx, 8, 3, 256, 1); !errors.Is(err, transport.ErrTimeout) {
		t.Errorf("unknown slave: %v", err)
	}
	if _, err := tr.Read(ctx, 7, 3, 256, 1); err != nil {
		t.Errorf("after the timeouts: %v", err)
	}
}
