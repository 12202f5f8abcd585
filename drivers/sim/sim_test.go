package sim_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

func start(t *testing.T) (*profile.Set, *sim.Server, transport.Transport) {
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
	tr := transport.NewTCP(srv.Addr(), 300*time.Millisecond)
	t.Cleanup(func() { tr.Close() })
	return set, srv, tr
}

func get(t *testing.T, set *profile.Set, name string) *profile.Profile {
	t.Helper()
	p, ok := set.Get(name)
	if !ok {
		t.Fatalf("no profile %s", name)
	}
	return p
}

// One simulated smoke detector serves both smoke profiles: register 0x0010
// follows status bit1.
func TestSmokeAlarmRegisterFollowsStatusBit(t *testing.T) {
	set, srv, tr := start(t)
	dev := srv.AddDevice(1, get(t, set, "smoke-detector"))
	ctx := context.Background()
	read16 := func() byte {
		t.Helper()
		b, err := tr.Read(ctx, 1, 3, 0x10, 1)
		if err != nil {
			t.Fatal(err)
		}
		return b[1]
	}
	if read16() != 0 {
		t.Fatal("alarm must start at 0")
	}
	if err := dev.SetBit("status", 1, true); err != nil {
		t.Fatal(err)
	}
	if read16() != 1 {
		t.Error("status bit1 set: 0x0010 must read 1")
	}
	if v, _ := dev.Get("status"); v != 2 {
		t.Errorf("status = %v, want 2", v)
	}
	if err := dev.SetBit("status", 1, false); err != nil {
		t.Fatal(err)
	}
	if read16() != 0 {
		t.Error("status bit1 cleared: 0x0010 must read 0")
	}
	if b, _ := tr.Read(ctx, 1, 3, 4, 1); b[0] != 0xFF || b[1] != 0xFF {
		t.Errorf("battery default = % X, want FF FF (mains)", b)
	}
}

func TestSetErrors(t *testing.T) {
	set, srv, _ := start(t)
	dev := srv.AddDevice(1, get(t, set, "electrical-fire-1p"))
	if err := dev.Set("nope", 1); err == nil {
		t.Error("unknown point: want an error")
	}
	if err := dev.Set("residual_setpoint", 70000); err == nil {
		t.Error("out of range: want an error")
	}
	if err := dev.SetBit("t1", 0, true); err == nil {
		t.Error("SetBit on an f32: want an error")
	}
}

func TestWritesAndExceptions(t *testing.T) {
	set, srv, tr := start(t)
	dev := srv.AddDevice(2, get(t, set, "smoke-detector"))
	ctx := context.Background()
	if err := tr.Write(ctx, 2, 32, []uint16{1}); err != nil { // command: reset
		t.Fatal(err)
	}
	if v, _ := dev.Get("command"); v != 1 {
		t.Errorf("command = %v, want 1", v)
	}
	var ex *transport.Exception
	if err := tr.Write(ctx, 2, 5, []uint16{1, 2}); !errors.As(err, &ex) || ex.Code != 2 {
		t.Errorf("write to read-only registers: %v", err)
	}
	if _, err := tr.Read(ctx, 2, 4, 0, 1); !errors.As(err, &ex) || ex.Code != 2 {
		t.Errorf("read of an empty table: %v", err)
	}
	if _, err := tr.Read(ctx, 2, 3, 30, 4); !errors.As(err, &ex) || ex.Code != 2 {
		t.Errorf("read past the map: %v", err)
	}
}

// TestWriteAll: a bench device takes writes to its read-only registers,
// and a derived register follows (the smoke profile's alarm register
// follows status bit 1), but still refuses unmapped addresses.
func TestWriteAll(t *testing.T) {
	set, srv, tr := start(t)
	dev := srv.AddDevice(2, get(t, set, "smoke-detector"))
	dev.WriteAll()
	ctx := context.Background()
	if err := tr.Write(ctx, 2, 0, []uint16{2}); err != nil { // status: bit1 fire alarm
		t.Fatal(err)
	}
	if v, _ := dev.Get("alarm"); v != 1 {
		t.Errorf("alarm = %v after status bit1 was written, want 1", v)
	}
	var ex *transport.Exception
	if err := tr.Write(ctx, 2, 40000, []uint16{1}); !errors.As(err, &ex) || ex.Code != 2 {
		t.Errorf("write to an unmapped register: %v", err)
	}
}

func TestIllegalFunctionRaw(t *testing.T) {
	set, srv, _ := start(t)
	srv.AddDevice(1, get(t, set, "smoke-detector"))
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// MBAP tid 0x0102, pid 0, len 6, unit 1; PDU fc 0x2B (encapsulated interface)
	if _, err := c.Write([]byte{1, 2, 0, 0, 0, 6, 1, 0x2B, 0, 0, 0, 1}); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(2 * time.Second))
	resp := make([]byte, 9)
	if _, err := io.ReadFull(c, resp); err != nil {
		t.Fatal(err)
	}
	if want := []byte{1, 2, 0, 0, 0, 3, 1, 0xAB, 1}; string(resp) != string(want) {
		t.Errorf("resp = % X, want % X", resp, want)
	}
}

func TestConcurrentSetWhileReading(t *testing.T) {
	set, srv, _ := start(t)
	p := get(t, set, "smart-meter-3p")
	dev := srv.AddDevice(1, p)
	plan, _ := profile.Compile(p, profile.PlanOptions{})
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := transport.NewTCP(srv.Addr(), time.Second)
			defer tr.Close()
			for range 50 {
				for _, r := range plan.Requests {
					if _, err := tr.Read(context.Background(), 1, r.FC, r.Address, r.Count); err != nil {
						t.Errorf("reader %d: %v", g, err)
						return
					}
				}
			}
		}()
	}
	for i := range 200 {
		if err := dev.Set("ua", 220+float64(i%20)); err != nil {
			t.Fatal(err)
		}
		if err := dev.SetBit("status", i%13, i%2 == 0); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}

func TestCloseEndsConnections(t *testing.T) {
	set, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sim.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.AddDevice(1, get(t, set, "smoke-485-basic"))
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// make sure the server has accepted the connection before closing
	if _, err := c.Write([]byte{0, 1, 0, 0, 0, 6, 1, 3, 0, 16, 0, 1}); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(c, make([]byte, 11)); err != nil {
		t.Fatal(err)
	}
	srv.Close() // returns only when every connection goroutine has ended
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after Close")
	}
	if _, err := net.DialTimeout("tcp", srv.Addr(), time.Second); err == nil {
		t.Error("listener still open after Close")
	}
}

func TestTwoListenersOneServer(t *testing.T) {
	set, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	srv := sim.NewServer()
	t.Cleanup(func() { srv.Close() })
	dev := srv.AddDevice(4, get(t, set, "smoke-485-basic"))
	if err := dev.Set("alarm", 1); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		addr, err := srv.ListenTCP("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		tr := transport.NewTCP(addr, time.Second)
		b, err := tr.Read(context.Background(), 4, 3, 16, 1)
		tr.Close()
		if err != nil || b[1] != 1 {
			t.Errorf("%s: % X, %v", addr, b, err)
		}
	}
}

// A self-test press: fault_detail bit7 (self-test running) and the fire
// bit rise together (0x0010 follows), the fire bit drops first, then the
// self-test bit.
func TestSelfTestPress(t *testing.T) {
	set, srv, tr := start(t)
	dev := srv.AddDevice(1, get(t, set, "smoke-detector"))
	bits := func() (fault, status, alarm float64) {
		fault, _ = dev.Get("fault_detail")
		status, _ = dev.Get("status")
		alarm, _ = dev.Get("alarm")
		return
	}
	done := make(chan struct{})
	if err := dev.PressSelfTest(50*time.Millisecond, done); err != nil {
		t.Fatal(err)
	}
	if f, s, a := bits(); f != 128 || s != 2 || a != 1 || !dev.SelfTesting() {
		t.Fatalf("pressed: fault_detail %v status %v alarm %v, want 128 2 1", f, s, a)
	}
	<-done
	if f, s, a := bits(); f != 0 || s != 0 || a != 0 || dev.SelfTesting() {
		t.Fatalf("after the press: fault_detail %v status %v alarm %v, want 0 0 0", f, s, a)
	}
	// the master's command: write 3 to register 32
	if err := tr.Write(context.Background(), 1, 32, []uint16{3}); err != nil {
		t.Fatal(err)
	}
	if f, s, _ := bits(); f != 128 || s != 2 || !dev.SelfTesting() {
		t.Fatalf("after command 3: fault_detail %v status %v, want a self-test running", f, s)
	}
	if c, _ := dev.Get("command"); c != 3 {
		t.Errorf("command register reads %v after the command, want 3 (what was written)", c)
	}
	// a profile without a self-test
	arc := srv.AddDevice(2, get(t, set, "arc-fault-1p"))
	if err := arc.PressSelfTest(time.Second, nil); err == nil {
		t.Error("arc-fault-1p pressed a self-test it does not have")
	}
}
