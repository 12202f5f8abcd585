package profile

import (
	"math"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestPlansShareOnePlanPerProfileAndOptions(t *testing.T) {
	set, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	smoke, _ := set.Get("smoke-detector")
	meter, _ := set.Get("smart-meter-3p")
	var c Plans
	var wg sync.WaitGroup
	got := make([]*Plan, 8)
	for i := range got {
		wg.Go(func() {
			p, err := c.Compile(smoke, PlanOptions{})
			if err != nil {
				t.Error(err)
			}
			got[i] = p
		})
	}
	wg.Wait()
	for i, p := range got {
		if p != got[0] {
			t.Fatalf("call %d got another plan than call 0", i)
		}
	}
	want, _ := Compile(smoke, PlanOptions{})
	if got[0].String() != want.String() {
		t.Errorf("shared plan\n%s\ndiffers from Compile's\n%s", got[0], want)
	}
	other, _ := c.Compile(smoke, PlanOptions{Poll: 5 * time.Second})
	m, _ := c.Compile(meter, PlanOptions{})
	if other == got[0] || m == got[0] || len(other.Groups) != 1 {
		t.Errorf("other options or profile must get their own plan: %p %p %p, %d groups", got[0], other, m, len(other.Groups))
	}
	if c.Len() != 3 {
		t.Errorf("Len = %d, want 3", c.Len())
	}
}

func TestPlansKeepCompileErrors(t *testing.T) {
	p := pts(t, 0, "wide 3 0 u32")
	var c Plans
	for range 2 {
		if _, err := c.Compile(p, PlanOptions{MaxRead: 1}); err == nil {
			t.Fatal("a point wider than the read cap compiled")
		}
	}
}

// DecodeInto reuses its buffer: the same samples as Decode, a partial
// sweep leaves no stale point behind, and a sweep allocates nothing.
func TestDecodeIntoReusesTheBuffer(t *testing.T) {
	p := pts(t, 0, "status 3 0 u16", "t1 3 2 f32", "flag 1 3 bit", "flag0 1 0 bit", "v 4 0 i16")
	plan, err := Compile(p, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	full := [][]byte{{0b1000}, {0, 2, 0, 0, 0xC3, 0x48, 0, 0}, {0xFF, 0x85}}
	want, _ := plan.Decode(full)
	buf, err := plan.DecodeInto(nil, full)
	if err != nil || !slices.Equal(buf, want) {
		t.Fatalf("DecodeInto = %v, %v; Decode = %v", buf, err, want)
	}
	part, _ := plan.DecodeInto(buf, [][]byte{nil, full[1], nil})
	if len(part) != 2 || part[0].Point != "status" || part[1].Point != "t1" {
		t.Errorf("partial sweep into a used buffer: %v", part)
	}
	if n := testing.AllocsPerRun(100, func() { buf, _ = plan.DecodeInto(buf, full) }); n != 0 {
		t.Errorf("DecodeInto into a large enough buffer allocates %v times", n)
	}
}

// The plan's decoders (beBits, fromBits) agree with the reference path:
// reorder the wire bytes, then the type's decode.
func TestPlanDecodersMatchReferenceCodec(t *testing.T) {
	wire := []byte{0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0x01, 0x99}
	for name, vt := range types {
		for order, re := range orders {
			n := 2 * vt.words
			pt := &Point{Name: "p", Type: name, Order: order, Scale: 1}
			var be [8]byte
			re(be[:n], wire[:n])
			want, got := vt.decode(be[:n]), registerDecoder(pt)(wire)
			if got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
				t.Errorf("%s %s: %v, reference %v", name, order, got, want)
			}
		}
	}
}
