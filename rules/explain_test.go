package rules

import (
	"strings"
	"testing"
	"time"
)

func TestRestoreContinuesTheEpisode(t *testing.T) {
	e := mustEngine(t, "efd-1", specR7, specR21)
	restored := []OpenHazard{
		{Device: "efd-1", Rule: "R7", TicketID: "efd-1/R7/20261128T230000.000", Level: 2, Since: base.Add(-9 * time.Hour)},
		{Device: "efd-1", Rule: "R99", TicketID: "gone"}, // rule no longer configured
		{Device: "nope", Rule: "R7", TicketID: "gone"},
	}
	e.Restore(restored)
	if got := e.Open(); len(got) != 1 || got[0] != restored[0] {
		t.Fatalf("Open() = %+v", got)
	}
	evs := runEach(e, series(t, "efd-1", base, 5*time.Second, one("residual_current", "350*10 100*13"), flags0))
	wantSummary(t, evs, "clear R7 @50s")
	if evs[0].TicketID != restored[0].TicketID || evs[0].Level != 2 {
		t.Errorf("clear %+v", evs[0])
	}
	if len(e.Open()) != 0 {
		t.Errorf("still open: %+v", e.Open())
	}
}

func TestRestoredOfflineFreezes(t *testing.T) {
	e := mustEngine(t, "sd-1", specR1, specR21)
	e.Restore([]OpenHazard{{Device: "sd-1", Rule: "R21", TicketID: "t", Level: 9, Since: base}})
	if got := e.Open(); got[0].Level != 2 {
		t.Errorf("level %d, want the rule's 2", got[0].Level)
	}
	cols := map[string]string{"status": "2*5", "alarm": "0*5"}
	evs := runEach(e, series(t, "sd-1", base.Add(time.Second), time.Second, cols, nil))
	wantSummary(t, evs, "clear R21 @1s", "open R1 @3s")
}

func TestExplainPhases(t *testing.T) {
	e := mustEngine(t, "efd-1", specR7)
	phase := func(sec int) RuleState {
		t.Helper()
		return e.Explain(at(sec))[0]
	}
	if rs := phase(0); rs.Phase != Inactive || rs.Value != nil || rs.Threshold != nil {
		t.Errorf("before any poll: %+v", rs)
	}
	polls := series(t, "efd-1", base, 5*time.Second, one("residual_current", "100 310 310 310 100 100"), map[string]float64{"alarm_flags": 0, "residual_setpoint": 250})
	checks := []struct {
		phase   Phase
		samples int
	}{{Inactive, 0}, {Pending, 1}, {Pending, 2}, {Firing, 0}, {Clearing, 1}, {Clearing, 2}}
	for i, p := range polls {
		e.Step(p.At, []Poll{p})
		rs := phase(i*5 + 1)
		if rs.Phase != checks[i].phase || rs.Samples != checks[i].samples || *rs.Threshold != 250 {
			t.Errorf("poll %d: %s %d samples (threshold %v)", i, rs.Phase, rs.Samples, *rs.Threshold)
		}
	}
	rs := phase(30)
	if rs.Since != at(20) || rs.Elapsed != 10*time.Second || rs.TicketID != "efd-1/R7/20261129T081507.000" || rs.Point != "residual_current" {
		t.Errorf("clearing state %+v", rs)
	}
}

func TestPhaseString(t *testing.T) {
	want := []string{"inactive", "pending", "firing", "clearing"}
	for i, w := range want {
		if got := Phase(i).String(); got != w {
			t.Errorf("Phase(%d) = %q", i, got)
		}
	}
}

func TestNewEngineReportsEveryProblem(t *testing.T) {
	bad := specR7
	bad.Level = 7
	bad.ThresholdPoint = "residual_setpoint2"
	_, err := NewEngine([]DeviceRules{
		{Device: "efd-1", Specs: []Spec{bad, specR21, specR21}, Points: map[string]string{"residual_current": "mA", "alarm_flags": ""}},
		{Device: "efd-1"},
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`device "efd-1": rules[0] (R7): level: 7 is out of range 1..4`,
		`device "efd-1": rules[0] (R7): threshold_point: "residual_setpoint2" is not a point of this profile`,
		`device "efd-1": rules[2] (R21): id: "R21" is used twice`,
		`device "efd-1": empty or duplicate device id`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 4 {
		t.Errorf("%d problems, want 4:\n%v", n, err)
	}
}

func TestDisabledSpecIsLeftOut(t *testing.T) {
	s := specR1
	s.Disabled, s.Level = true, 9 // not even validated
	e := mustEngine(t, "sd-1", s)
	if len(e.Explain(base)) != 0 {
		t.Error("a disabled rule was compiled")
	}
}
