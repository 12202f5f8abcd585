package rules

import (
	"testing"
	"time"
)

// r1Test is R1 with the smoke detector's test-mode bit (status bit0).
func r1Test() Spec {
	s := specR1
	s.TestMode = &BitCond{Point: "status", Bits: []int{0}}
	return s
}

func TestTestModeRaisesTestEventsOnly(t *testing.T) {
	cases := []struct {
		name, status string // 1 s polls; bit0 test mode, bit1 fire alarm
		want         []string
	}{
		{"alarm in test mode: one test event, no ticket", "0 1 3 3 3 3 1 0 0", []string{"test R1 @2s"}},
		{"two tests, two test events", "1 3 3 1 1 3 3 1 0", []string{"test R1 @1s", "test R1 @5s"}},
		{"test mode ends with the alarm still latched: a real ticket",
			"1 3 3 3 2 2 2 0 0", []string{"test R1 @1s", "open R1 @4s", "clear R1 @7s"}},
		{"a real alarm is frozen in test mode",
			"0 2 2 2 3 1 1 1 0 0", []string{"open R1 @1s", "clear R1 @8s"}},
		{"the test bit alone is nothing", "1*5 0*3", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustEngine(t, "sd-1", r1Test())
			evs := runEach(e, series(t, "sd-1", base, time.Second, one("status", c.status), map[string]float64{"alarm": 0}))
			wantSummary(t, evs, c.want...)
			for _, ev := range evs {
				if ev.Kind == Test && (ev.Level != 1 || ev.TicketID == "" || ev.Evidence.Point != "status") {
					t.Errorf("test event %+v", ev)
				}
			}
		})
	}
}

func TestTestEpisodesAreNotOpenHazards(t *testing.T) {
	e := mustEngine(t, "sd-1", r1Test())
	runEach(e, series(t, "sd-1", base, time.Second, one("status", "3*5"), map[string]float64{"alarm": 0}))
	if open := e.Open(); len(open) != 0 {
		t.Errorf("open hazards %+v", open)
	}
}

func TestTestModeMembersDoNotMakeACompound(t *testing.T) {
	r7, r10 := specR7, specR10
	r7.TestMode = &BitCond{Point: "do_di", Bits: []int{0}}
	r10.TestMode = r7.TestMode
	r22 := specR22
	r22.AllOf = []RuleGroup{{AnyOf: []string{"R7"}}, {AnyOf: []string{"R10"}}}
	e := mustEngine(t, "efd-1", r7, r10, r22)
	cols := r12Cols("80*10")
	cols["residual_current"] = "350*10"
	evs := runEach(e, series(t, "efd-1", base, 5*time.Second, cols, map[string]float64{"alarm_flags": 0, "do_di": 1}))
	wantSummary(t, evs, "test R7 @0s", "test R10 @0s")
}
