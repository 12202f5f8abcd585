package modbustest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbustest"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

// u16 returns register i of a read reply.
func u16(b []byte, i int) uint16 { return uint16(b[2*i])<<8 | uint16(b[2*i+1]) }

func TestRTUTransportAgainstPymodbusOnPty(t *testing.T) {
	slave := modbustest.StartRTU(t, map[uint8]map[uint16]uint16{
		1: {0: 0x1234, 16: 1},
		2: {0x2006: 0x4510, 0x2007: 0xC000},
	})
	tr, err := transport.Open(transport.Config{Type: "rtu", Port: slave.Port, Baud: 9600,
		DataBits: 8, Parity: "N", StopBits: 1, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	ctx := context.Background()

	got, err := tr.Read(ctx, 1, 3, 0, 1)
	if err != nil || u16(got, 0) != 0x1234 {
		t.Fatalf("read = % X, %v", got, err)
	}
	if got, err := tr.Read(ctx, 1, 3, 16, 1); err != nil || u16(got, 0) != 1 {
		t.Fatalf("alarm = % X, %v", got, err)
	}
	slave.SetHolding(1, 16, 0)
	if got, err := tr.Read(ctx, 1, 3, 16, 1); err != nil || u16(got, 0) != 0 {
		t.Errorf("alarm after SetHolding = % X, %v", got, err)
	}
	if got, err := tr.Read(ctx, 2, 3, 0x2006, 2); err != nil || u16(got, 0) != 0x4510 || u16(got, 1) != 0xC000 {
		t.Errorf("slave 2 = % X, %v", got, err)
	}

	// an exception reply (past the end of the 65536 registers)
	_, err = tr.Read(ctx, 1, 3, 65535, 2)
	var ex *transport.Exception
	if !errors.As(err, &ex) || ex.Code != transport.IllegalDataAddress || ex.Func != 3 {
		t.Errorf("read past the end: %v, want exception 2 to fc3", err)
	}

	// writes, one register (fc6) and two (fc16)
	if err := tr.Write(ctx, 1, 100, []uint16{7}); err != nil {
		t.Fatalf("fc6: %v", err)
	}
	if err := tr.Write(ctx, 1, 101, []uint16{8, 9}); err != nil {
		t.Fatalf("fc16: %v", err)
	}
	if got, err := tr.Read(ctx, 1, 3, 100, 3); err != nil || u16(got, 0) != 7 || u16(got, 1) != 8 || u16(got, 2) != 9 {
		t.Errorf("read back = % X, %v", got, err)
	}

	// nobody answers slave 9: a timeout; slave 1 answers right after
	start := time.Now()
	if _, err := tr.Read(ctx, 9, 3, 0, 1); !errors.Is(err, transport.ErrTimeout) {
		t.Errorf("slave 9: %v, want a timeout", err)
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 3*time.Second {
		t.Errorf("timeout took %v, want about 1 s", d)
	}
	if got, err := tr.Read(ctx, 1, 3, 0, 1); err != nil || u16(got, 0) != 0x1234 {
		t.Errorf("after the timeout: % X, %v", got, err)
	}

	// round trip on the pty (no baud timing: this is the software cost
	// plus pymodbus's own turnaround, not the wire time)
	const n = 50
	start = time.Now()
	for range n {
		if _, err := tr.Read(ctx, 1, 3, 0, 10); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("pymodbus RTU on a pty: %v per 10-register read (mean of %d, t3.5 = 4.0 ms at 9600 included)", time.Since(start)/n, n)
}

func TestRTUOverTCPAgainstPymodbus(t *testing.T) {
	slave := modbustest.StartRTUOverTCP(t, map[uint8]map[uint16]uint16{1: {0: 0x1234, 16: 1}})
	tr, err := transport.Open(transport.Config{Type: "rtu-over-tcp", Address: slave.Addr, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	ctx := context.Background()
	if got, err := tr.Read(ctx, 1, 3, 0, 1); err != nil || u16(got, 0) != 0x1234 {
		t.Fatalf("read = % X, %v", got, err)
	}
	slave.SetHolding(1, 16, 5)
	if got, err := tr.Read(ctx, 1, 3, 16, 1); err != nil || u16(got, 0) != 5 {
		t.Errorf("after SetHolding = % X, %v", got, err)
	}
	var ex *transport.Exception
	if _, err := tr.Read(ctx, 1, 3, 65535, 2); !errors.As(err, &ex) || ex.Code != transport.IllegalDataAddress {
		t.Errorf("read past the end: %v", err)
	}
	if err := tr.Write(ctx, 1, 200, []uint16{3, 4}); err != nil {
		t.Fatalf("fc16: %v", err)
	}
	if _, err := tr.Read(ctx, 9, 3, 0, 1); !errors.Is(err, transport.ErrTimeout) {
		t.Errorf("slave 9: %v, want a timeout", err)
	}
	if got, err := tr.Read(ctx, 1, 3, 200, 2); err != nil || u16(got, 0) != 3 || u16(got, 1) != 4 {
		t.Errorf("after the timeout (redialled): % X, %v", got, err)
	}
}
