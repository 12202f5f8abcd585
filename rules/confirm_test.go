package rules

import (
	"slices"
	"testing"
)

// R1 counts reads, so one read of the alarm bit asks for a confirmation
// read; R7 also waits 10 s, so a reading over its threshold does not.
func TestConfirmNow(t *testing.T) {
	e, err := NewEngine([]DeviceRules{
		{Device: "smoke", Specs: []Spec{specR1, specR21}},
		{Device: "efd", Specs: []Spec{specR7}},
	})
	if err != nil {
		t.Fatal(err)
	}
	smoke := func(s int, status float64) Poll {
		return Poll{Device: "smoke", At: at(s), OK: true,
			Readings: []Reading{{Point: "status", Value: status}, {Point: "alarm", Value: 0}}}
	}
	efd := Poll{Device: "efd", At: at(0), OK: true,
		Readings: []Reading{{Point: "residual_current", Value: 450}, {Point: "residual_setpoint", Value: 300}}}

	if evs := e.Step(at(0), []Poll{smoke(0, 0), efd}); len(evs) != 0 {
		t.Fatalf("quiet site: %v", summary(evs))
	}
	if got := e.ConfirmNow(nil); len(got) != 0 {
		t.Fatalf("nothing pending on a count: ConfirmNow = %v", got)
	}
	e.Step(at(1), []Poll{smoke(1, 2)}) // bit1 on the first read
	if got := e.ConfirmNow(nil); !slices.Equal(got, []string{"smoke"}) {
		t.Fatalf("after one alarm read: ConfirmNow = %v, want [smoke]", got)
	}
	evs := e.Step(at(1).Add(40e6), []Poll{{Device: "smoke", At: at(1).Add(40e6), OK: true,
		Readings: []Reading{{Point: "status", Value: 2}, {Point: "alarm", Value: 0}}}})
	if len(evs) != 1 || evs[0].Kind != Open || evs[0].Rule != "R1" {
		t.Fatalf("the confirmation read opens R1: %v", summary(evs))
	}
	if got := e.ConfirmNow(nil); len(got) != 0 {
		t.Fatalf("R1 open: ConfirmNow = %v", got)
	}
	// The bit drops: R1 clears on two reads, the second asked at once.
	e.Step(at(2), []Poll{smoke(2, 0)})
	if got := e.ConfirmNow(nil); !slices.Equal(got, []string{"smoke"}) {
		t.Fatalf("after one normal read: ConfirmNow = %v, want [smoke]", got)
	}
	if evs := e.Step(at(2).Add(40e6), []Poll{{Device: "smoke", At: at(2).Add(40e6), OK: true,
		Readings: []Reading{{Point: "status", Value: 0}, {Point: "alarm", Value: 0}}}}); len(evs) != 1 || evs[0].Kind != Clear {
		t.Fatalf("the confirmation read clears R1: %v", summary(evs))
	}
	if got := e.ConfirmNow(nil); len(got) != 0 {
		t.Fatalf("R1 cleared: ConfirmNow = %v", got)
	}
	// A bit seen once and gone on the confirmation read: no ticket, and
	// nothing more to confirm.
	e2, _ := NewEngine([]DeviceRules{{Device: "smoke", Specs: []Spec{specR1}}})
	e2.Step(at(0), []Poll{smoke(0, 2)})
	if got := e2.ConfirmNow(nil); len(got) != 1 {
		t.Fatalf("ConfirmNow = %v", got)
	}
	if evs := e2.Step(at(1), []Poll{smoke(1, 0)}); len(evs) != 0 {
		t.Fatalf("a glitch opened a ticket: %v", summary(evs))
	}
	if got := e2.ConfirmNow(nil); len(got) != 0 {
		t.Fatalf("after the glitch: ConfirmNow = %v", got)
	}
}
