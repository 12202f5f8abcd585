package rules

import (
	"strings"
	"testing"
	"time"
)

// afters renders each event with the device state after it:
// "open R3 @0s fault".
func afters(evs []Event) []string {
	out := summary(evs)
	for i, ev := range evs {
		out[i] += " " + ev.After.String()
	}
	return out
}

func wantAfters(t *testing.T, evs []Event, want ...string) {
	t.Helper()
	if got := afters(evs); strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("events:\n got  %q\n want %q", got, want)
	}
}

// The state after an event is the worst condition still open on the
// device: a clear of R3 while R1 is open leaves the device in alarm.
func TestAfterIsTheWorstOpenCondition(t *testing.T) {
	e := mustEngine(t, "sd-1", specR1, specR3)
	// status bit1 fire (2), bit2 fault (4)
	evs := runEach(e, series(t, "sd-1", base, time.Second, one("status", "4*12 6*3 2*70 0*3"), map[string]float64{"alarm": 0}))
	wantAfters(t, evs, "open R3 @0s fault", "open R1 @12s alarm", "clear R3 @15s alarm", "clear R1 @85s normal")
	if c := e.Condition("sd-1"); c != ConditionNormal {
		t.Errorf("Condition = %v, want normal", c)
	}
}

// Events decided by one Step are given their states in the order Step
// returns them, whatever order they were decided in: here R1's clear
// (decided at 6 s, before R3 was open) is returned after R3's open
// (decided at 13 s with the earlier At 3 s), so it must say fault.
func TestAfterFollowsTheReturnedOrder(t *testing.T) {
	e := mustEngine(t, "sd-1", specR1, specR3)
	polls := series(t, "sd-1", base, time.Second, one("status", "2*3 6*2 4*12"), map[string]float64{"alarm": 0})
	evs := e.Step(at(20), polls)
	wantAfters(t, evs, "open R1 @0s alarm", "open R3 @3s alarm", "clear R1 @5s fault")
	if c := e.Condition("sd-1"); c != ConditionFault || evs[len(evs)-1].After != c {
		t.Errorf("Condition = %v, last After %v, want fault", c, evs[len(evs)-1].After)
	}
}

func TestTestEpisodesLeaveTheDeviceNormal(t *testing.T) {
	e := mustEngine(t, "sd-1", r1Test())
	evs := runEach(e, series(t, "sd-1", base, time.Second, one("status", "0 3*4 0"), map[string]float64{"alarm": 0}))
	wantAfters(t, evs, "test R1 @1s normal")
}

// specR27 is the smoke detector's disabled bit (status bit3, 屏蔽).
var specR27 = Spec{ID: "R27", Hazard: "detector_disabled", Type: "status",
	When: []BitCond{{Point: "status", Bits: []int{3}}}, MinSamples: 2, ClearSamples: 2}

func TestDisabledBitOpensADisabledCondition(t *testing.T) {
	e := mustEngine(t, "sd-1", specR1, specR27)
	evs := runEach(e, series(t, "sd-1", base, time.Second, one("status", "0 8*5 0*3"), map[string]float64{"alarm": 0}))
	wantAfters(t, evs, "open R27 @1s disabled", "clear R27 @6s normal")
	if h, _ := LookupHazard("detector_disabled"); h.Condition.GBT45839Status() != 4 {
		t.Errorf("detector_disabled codes %d, want 4 屏蔽", h.Condition.GBT45839Status())
	}
}

// While the device reports itself disabled, nothing of it clears: R3's
// fault bit drops during the disabled period and R3 stays open; it clears
// only after its full clear_for once the device is enabled again. A fault
// is worse than 屏蔽: the device reads fault while both are open.
func TestNothingClearsWhileDisabled(t *testing.T) {
	e := mustEngine(t, "sd-1", specR3, specR27)
	evs := runEach(e, series(t, "sd-1", base, time.Second, one("status", "4*12 12*5 8*100 0*70"), map[string]float64{"alarm": 0}))
	wantAfters(t, evs, "open R3 @0s fault", "open R27 @12s fault", "clear R27 @117s fault", "clear R3 @119s normal")
	// without R27 the same readings clear R3 60 s after the bit drops
	e = mustEngine(t, "sd-1", specR3)
	evs = runEach(e, series(t, "sd-1", base, time.Second, one("status", "4*12 12*5 8*100 0*70"), map[string]float64{"alarm": 0}))
	wantSummary(t, evs, "open R3 @0s", "clear R3 @17s")
}

// But a disabled device still opens: never hide a fire.
func TestDisabledDeviceStillOpens(t *testing.T) {
	e := mustEngine(t, "sd-1", specR1, specR27)
	evs := runEach(e, series(t, "sd-1", base, time.Second, one("status", "8*3 10*3"), map[string]float64{"alarm": 0}))
	wantAfters(t, evs, "open R27 @0s disabled", "open R1 @3s alarm")
}

// A self-test press: the detector raises fault_detail bit7 (self-test
// running) and its fire bit, without the status test-mode bit. A test_mode
// with any of the two raises a test event, never an open.
func TestSelfTestRunningIsTestMode(t *testing.T) {
	s := specR1
	s.TestMode = &BitCond{Any: []BitCond{{Point: "status", Bits: []int{0}}, {Point: "fault_detail", Bits: []int{7}}}}
	cols := map[string]string{"status": "0 2*5 0*4", "fault_detail": "0 128*6 0*3"}
	e := mustEngine(t, "sd-1", s)
	evs := runEach(e, series(t, "sd-1", base, time.Second, cols, map[string]float64{"alarm": 0}))
	wantAfters(t, evs, "test R1 @1s normal")
	// with the status bit alone (the old profile), the press was a fire
	e = mustEngine(t, "sd-1", r1Test())
	evs = runEach(e, series(t, "sd-1", base, time.Second, cols, map[string]float64{"alarm": 0}))
	wantSummary(t, evs, "open R1 @1s", "clear R1 @6s")
}

func TestTestModeAnyValidation(t *testing.T) {
	points := func(p string) bool { return p == "status" || p == "fault_detail" || p == "alarm" }
	cases := map[string]*BitCond{
		"test_mode.any: needs at least one condition":    {Any: []BitCond{}},
		"test_mode: set either any or one condition":     {Point: "status", Bits: []int{0}, Any: []BitCond{{Point: "status", Bits: []int{0}}}},
		"test_mode.any[0].all: is not used in test_mode": {Any: []BitCond{{All: []BitCond{{Point: "status", Bits: []int{0}}}}}},
		"test_mode.any[1].point":                         {Any: []BitCond{{Point: "status", Bits: []int{0}}, {Point: "nope", Bits: []int{7}}}},
	}
	for want, tm := range cases {
		s := specR1
		s.TestMode = tm
		errs := s.Validate(points)
		if len(errs) == 0 || !strings.Contains(errs[0].Error(), want) {
			t.Errorf("%s: errors %v", want, errs)
		}
	}
	s := specR1
	s.When = []BitCond{{Any: []BitCond{{Point: "status", Bits: []int{1}}}}}
	if errs := s.Validate(points); len(errs) == 0 || !strings.Contains(errs[0].Error(), "when[0].any: is used in test_mode only") {
		t.Errorf("any in when: %v", errs)
	}
}

// specR2 is R2 as the smoke profile writes it: 50 % of the device's alarm
// threshold (read back; 0.15 dB/m until read).
var specR2 = Spec{ID: "R2", Hazard: "smoke_prealarm", Type: "threshold", Level: 3,
	Points: []string{"smoke_level"}, Threshold: 0.15, ThresholdPoint: "alarm_threshold", ThresholdFactor: 0.5,
	HysteresisPct: 20, For: 30 * time.Second, ClearFor: 60 * time.Second}

// A ratio rule never fires on a setpoint that reads 0 or absent (0 ≥ 0.5 ×
// 0 would open R2 on clean air), and a bit condition of the same rule
// still does.
func TestZeroOrAbsentSetpointNeverFires(t *testing.T) {
	cases := []struct {
		name string
		spec Spec
		cols map[string]string
		want []string
	}{
		{"R2, threshold reads 0", specR2, map[string]string{"smoke_level": "0.01*100", "alarm_threshold": "0*100"}, nil},
		{"R2, threshold reads absent", specR2, map[string]string{"smoke_level": "0.1*100", "alarm_threshold": "a*100"}, nil},
		{"R2, threshold not read yet: the fallback", specR2, map[string]string{"smoke_level": "0.1*100", "alarm_threshold": "-*100"}, []string{"open R2 @0s"}},
		{"R2, threshold read", specR2, map[string]string{"smoke_level": "0.1*100", "alarm_threshold": "0.15*100"}, []string{"open R2 @0s"}},
		{"R7, setpoint 0", specR7, map[string]string{"residual_current": "80*100", "residual_setpoint": "0*100", "alarm_flags": "0*100"}, nil},
		{"R7, setpoint 0, alarm bit", specR7, map[string]string{"residual_current": "80*100", "residual_setpoint": "0*100", "alarm_flags": "1*100"}, []string{"open R7 @0s"}},
		{"R13, rated current 0", specR13, map[string]string{"current": "5*100", "rated_current": "0*100", "alarm_flags": "0*100"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustEngine(t, "d-1", c.spec)
			evs := runEach(e, series(t, "d-1", base, 5*time.Second, c.cols, nil))
			wantSummary(t, evs, c.want...)
		})
	}
	// a factor on a constant 0 (no setpoint configured) is no limit either
	s := specR2
	s.ThresholdPoint, s.Threshold = "", 0
	e := mustEngine(t, "d-1", s)
	wantSummary(t, runEach(e, series(t, "d-1", base, 5*time.Second, one("smoke_level", "0.01*100"), nil)))
}

// R19 as arc-fault-1p writes it clears after 5 min without bursts, or at
// once when the device is reset (its latched arc bit drops).
func TestArcFaultClearsOnResetOrFiveQuietMinutes(t *testing.T) {
	r19 := specR19
	r19.Escalate, r19.ClearOnReset = nil, true
	cases := []struct {
		name string
		cols map[string]string
		want []string
	}{
		{"burst latched by the device, reset at 20 s: clears at once",
			map[string]string{"arc_halfcycles_1s": "20*3 0*17 0*10", "status": "2*20 0*10"}, []string{"open R19 @0s", "clear R19 @20s"}},
		{"burst without the bit: 5 min without bursts",
			map[string]string{"arc_halfcycles_1s": "20*3 0*400", "status": "0*403"}, []string{"open R19 @0s", "clear R19 @3s"}},
		{"reset while still arcing: no clear until the bursts stop",
			map[string]string{"arc_halfcycles_1s": "20*30 0*400", "status": "2*10 0*420"}, []string{"open R19 @0s", "clear R19 @30s"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustEngine(t, "afd-1", r19)
			evs := runEach(e, series(t, "afd-1", base, time.Second, c.cols, nil))
			wantSummary(t, evs, c.want...)
		})
	}
	// validation: clear_on_reset needs when
	s := r19
	s.When = nil
	if errs := s.Validate(nil); len(errs) == 0 || !strings.Contains(errs[0].Error(), "clear_on_reset: needs when") {
		t.Errorf("clear_on_reset without when: %v", errs)
	}
}
