package modbustest_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/device"
	"github.com/fenghuo-iot/fenghuo/drivers/modbustest"
	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

func TestTCPTransportAgainstPymodbus(t *testing.T) {
	slave := modbustest.Start(t, map[uint8]map[uint16]uint16{
		1: {0: 0x1234, 16: 1},
		2: {0x2006: 0x4510, 0x2007: 0xC000}, // chint ua: f32 2316.0 ABCD (× 0.1 = 231.6 V)
	})
	tr := transport.NewTCP(slave.Addr, 500*time.Millisecond)
	t.Cleanup(func() { tr.Close() })
	ctx := context.Background()

	got, err := tr.Read(ctx, 1, 3, 0, 1)
	if err != nil || got[0] != 0x12 || got[1] != 0x34 {
		t.Fatalf("read = % X, %v", got, err)
	}

	set, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string, id uint8) map[string]float64 {
		t.Helper()
		p, _ := set.Get(name)
		plan, err := profile.Compile(p, profile.PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		samples, err := device.NewReader(plan, id).Read(ctx, tr)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m := map[string]float64{}
		for _, s := range samples {
			m[s.Point] = s.Value
		}
		return m
	}
	if v := read("smoke-485-basic", 1)["alarm"]; v != 1 {
		t.Errorf("alarm = %v, want 1", v)
	}
	slave.SetHolding(1, 16, 0)
	if v := read("smoke-485-basic", 1)["alarm"]; v != 0 {
		t.Errorf("alarm after SetHolding = %v, want 0", v)
	}
	if ua := read("chint-dtsu666", 2)["ua"]; math.Abs(ua-231.6) > 1e-9 {
		t.Errorf("chint ua = %v, want 231.6", ua)
	}

	if err := tr.Write(ctx, 1, 100, []uint16{7, 8}); err != nil {
		t.Fatalf("write: %v", err)
	}
	if got, err := tr.Read(ctx, 1, 3, 100, 2); err != nil || got[1] != 7 || got[3] != 8 {
		t.Errorf("read back = % X, %v", got, err)
	}

	// an unknown slave id gets no answer; the transport recovers afterwards
	if _, err := tr.Read(ctx, 9, 3, 0, 1); !errors.Is(err, transport.ErrTimeout) {
		t.Errorf("unknown slave: %v, want a timeout", err)
	}
	if _, err := tr.Read(ctx, 1, 3, 0, 1); err != nil {
		t.Errorf("after the timeout: %v", err)
	}
}
