package device_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/device"
	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

func approx(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }

func setup(t *testing.T) (*profile.Set, *sim.Server, transport.Transport) {
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
	tr := transport.NewTCP(srv.Addr(), time.Second)
	t.Cleanup(func() { tr.Close() })
	return set, srv, tr
}

// TestEveryShippedProfileEndToEnd serves every shipped profile from one
// simulator (one slave id each), sets every readable point, and reads it
// back over TCP through the profile's plan.
func TestEveryShippedProfileEndToEnd(t *testing.T) {
	set, srv, tr := setup(t)
	for i, name := range set.Names() {
		p, _ := set.Get(name)
		slave := uint8(i + 1)
		dev := srv.AddDevice(slave, p)
		set := map[string]float64{}
		for k := range p.Points {
			pt := &p.Points[k]
			if !pt.Readable() {
				continue
			}
			v := float64(10+k)*pt.Scale + pt.Offset // a distinct raw value, in range of every type
			if err := dev.Set(pt.Name, v); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			set[pt.Name] = v
		}
		plan, err := profile.Compile(p, profile.PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		samples, err := device.NewReader(plan, slave).Read(context.Background(), tr)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(samples) != len(set) {
			t.Errorf("%s: %d samples for %d readable points", name, len(samples), len(set))
		}
		for _, s := range samples {
			want, _ := dev.Get(s.Point)
			if !approx(s.Value, want) || s.Unit != p.Point(s.Point).Unit {
				t.Errorf("%s.%s = %v %s, sim has %v", name, s.Point, s.Value, s.Unit, want)
			}
			if derived := name == "smoke-detector" && s.Point == "alarm"; !derived && !approx(s.Value, set[s.Point]) {
				t.Errorf("%s.%s = %v, set %v", name, s.Point, s.Value, set[s.Point])
			}
		}
	}
}

func TestDefaultsAndAbsent(t *testing.T) {
	set, srv, tr := setup(t)
	p, _ := set.Get("electrical-fire-1p")
	srv.AddDevice(3, p)
	plan, _ := profile.Compile(p, profile.PlanOptions{})
	samples, err := device.NewReader(plan, 3).Read(context.Background(), tr)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]profile.Sample{}
	for _, s := range samples {
		got[s.Point] = s
	}
	for name, want := range map[string]float64{"residual_setpoint": 300, "temp_setpoint": 70, "rated_current": 63, "t3": -200} {
		if !approx(got[name].Value, want) {
			t.Errorf("%s = %v, want %v", name, got[name].Value, want)
		}
	}
	if !got["t3"].Absent || !got["t4"].Absent || got["t1"].Absent {
		t.Errorf("absent: t1 %v t3 %v t4 %v", got["t1"].Absent, got["t3"].Absent, got["t4"].Absent)
	}
}

// TestDCBAFloats serves the electrical-fire map in Acrel's real DCBA order.
func TestDCBAFloats(t *testing.T) {
	set, srv, tr := setup(t)
	orig, _ := set.Get("electrical-fire-1p")
	p := *orig
	p.Points = append([]profile.Point(nil), orig.Points...)
	for i := range p.Points {
		if p.Points[i].Type == "f32" {
			p.Points[i].Order = "DCBA"
		}
	}
	dev := srv.AddDevice(5, &p)
	if err := dev.Set("residual_current", 356.25); err != nil {
		t.Fatal(err)
	}
	raw, err := tr.Read(context.Background(), 5, 3, 16, 2)
	if err != nil || string(raw) != string([]byte{0x00, 0x20, 0xB2, 0x43}) { // 356.25 = 43 B2 20 00
		t.Fatalf("raw = % X, %v", raw, err)
	}
	plan, _ := profile.Compile(&p, profile.PlanOptions{})
	samples, err := device.NewReader(plan, 5).Read(context.Background(), tr)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		if s.Point == "residual_current" && s.Value != 356.25 {
			t.Errorf("residual_current = %v", s.Value)
		}
	}
}

func TestReadErrorNamesRequest(t *testing.T) {
	set, srv, tr := setup(t)
	p, _ := set.Get("smoke-485-basic")
	srv.AddDevice(1, p)
	wide, err := profile.Parse("wide.yaml", []byte("name: wide\ncategory: smoke\npoints:\n  - {name: alarm, address: 16}\n  - {name: x, address: 1000}\n"))
	if err != nil {
		t.Fatal(err)
	}
	plan, _ := profile.Compile(wide, profile.PlanOptions{})
	_, err = device.NewReader(plan, 1).Read(context.Background(), tr)
	var ex *transport.Exception
	if !errors.As(err, &ex) || !strings.HasPrefix(err.Error(), "slave 1 fc3 @1000+1: modbus exception 2") {
		t.Fatalf("err = %v", err)
	}
}

// TestReadGroupsReadsOnlyDueGroups: a group whose registers the slave does
// not have (exception 02) is not asked for while it is not due.
func TestReadGroupsReadsOnlyDueGroups(t *testing.T) {
	set, srv, tr := setup(t)
	p, _ := set.Get("smoke-485-basic")
	dev := srv.AddDevice(1, p)
	if err := dev.Set("alarm", 1); err != nil {
		t.Fatal(err)
	}
	two, err := profile.Parse("two.yaml", []byte("name: two\ncategory: smoke\npoints:\n  - {name: alarm, address: 16}\n  - {name: x, address: 1000, poll: 10s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	plan, _ := profile.Compile(two, profile.PlanOptions{})
	r := device.NewReader(plan, 1)
	samples, err := r.ReadGroups(context.Background(), tr, []bool{true, false})
	if err != nil || len(samples) != 1 || samples[0].Point != "alarm" || samples[0].Value != 1 {
		t.Fatalf("1 s group: %+v, %v; want alarm = 1 alone", samples, err)
	}
	if _, err := r.ReadGroups(context.Background(), tr, []bool{false, true}); err == nil || !strings.Contains(err.Error(), "fc3 @1000+1: modbus exception 2") {
		t.Fatalf("10 s group: err = %v, want exception 2 at @1000", err)
	}
}
