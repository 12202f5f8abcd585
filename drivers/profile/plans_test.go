package profile

import (
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
