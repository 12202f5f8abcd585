package rules

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// r13Cols is R13's current with the alarm word at rest.
func r13Cols(current string) map[string]string {
	n := len(expand(current))
	return map[string]string{"current": current, "alarm_flags": "0*" + strconv.Itoa(n)}
}

func TestR13EscalatesTheOpenTicket(t *testing.T) {
	cases := []struct {
		name    string
		current string // 5 s polls, rated 63 A: 100 % 63, 105 % 66.15, clear < 59.85
		want    []string
		levels  []int
	}{
		{"100..105 % opens at 3, > 105 % for 60 s escalates to 2, clears at 2",
			"60*4 65*20 67*14 50*62", []string{"open R13 @20s", "escalate R13 @120s", "clear R13 @190s"}, []int{3, 2, 2}},
		{"straight past 105 %: one open, at level 2",
			"60*4 70*14 50*62", []string{"open R13 @20s", "clear R13 @90s"}, []int{2, 2}},
		{"105 % for less than 60 s: no escalation",
			"60*4 65*13 67*11 65*4 67*11 50*62", []string{"open R13 @20s", "clear R13 @215s"}, []int{3, 3}},
		{"no way back: 102 % after the escalation keeps level 2",
			"60*4 67*14 64*40 50*62", []string{"open R13 @20s", "clear R13 @290s"}, []int{2, 2}},
		{"missing data does not break the escalation run",
			"60*4 65*13 67*5 -*4 67*8 50*62", []string{"open R13 @20s", "escalate R13 @85s", "clear R13 @170s"}, []int{3, 2, 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustEngine(t, "efd-1", specR13)
			evs := runEach(e, series(t, "efd-1", base, 5*time.Second, r13Cols(c.current), map[string]float64{"rated_current": 63}))
			wantSummary(t, evs, c.want...)
			for i, ev := range evs {
				if ev.Level != c.levels[i] || ev.TicketID != evs[0].TicketID {
					t.Errorf("event %d: level %d ticket %s, want level %d ticket %s", i, ev.Level, ev.TicketID, c.levels[i], evs[0].TicketID)
				}
			}
			if len(evs) == 3 && (*evs[1].Evidence.Threshold != 63*1.05 || evs[1].Evidence.Window != "60s") {
				t.Errorf("escalation evidence %s", dump(evs[1].Evidence))
			}
		})
	}
}

func TestBitsNeverEscalate(t *testing.T) {
	cols := map[string]string{"current": "40*40", "alarm_flags": "0 32*39"}
	e := mustEngine(t, "efd-1", specR13)
	evs := runEach(e, series(t, "efd-1", base, 5*time.Second, cols, nil))
	wantSummary(t, evs, "open R13 @5s")
	if evs[0].Level != 3 {
		t.Errorf("level %d", evs[0].Level)
	}
}

func TestEscalateIfAnotherRuleIsOpen(t *testing.T) {
	r10 := specR10
	r10.Escalate = []Escalation{{Level: 1, IfOpen: []string{"R7"}}}
	cases := []struct {
		name, residual, temp string
		want                 []string
		levels               []int
	}{
		{"R7 first: R10 opens at level 1", "350*20", "30*6 80*14",
			[]string{"open R7 @0s", "open R10 @30s"}, []int{2, 1}},
		{"R10 first: escalates when R7 opens", "100*6 350*14", "80*20",
			[]string{"open R10 @0s", "open R7 @30s", "escalate R10 @30s"}, []int{2, 2, 1}},
		{"R7 opening in the same poll counts, whatever the rule order", "350*20", "80*20",
			[]string{"open R10 @0s", "open R7 @0s"}, []int{1, 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustEngine(t, "efd-1", r10, specR7)
			cols := map[string]string{"residual_current": c.residual, "t1": c.temp}
			evs := runEach(e, series(t, "efd-1", base, 5*time.Second, cols, flags0))
			wantSummary(t, evs, c.want...)
			for i, ev := range evs {
				if ev.Level != c.levels[i] {
					t.Errorf("event %d (%s %s): level %d, want %d", i, ev.Kind, ev.Rule, ev.Level, c.levels[i])
				}
			}
		})
	}
}

func TestEscalateUnknownRuleIsAnError(t *testing.T) {
	r10 := specR10
	r10.Escalate = []Escalation{{Level: 1, IfOpen: []string{"R77"}}}
	_, err := NewEngine([]DeviceRules{{Device: "efd-1", Specs: []Spec{specR7, r10}}})
	want := `device "efd-1": rule R10: escalate[0].if_open[0]: "R77" is not another rule of this device (did you mean "R7"?)`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v\nwant %s", err, want)
	}
}

func TestRestoredLevelIsKept(t *testing.T) {
	for _, c := range []struct {
		level int
		want  []string
	}{
		{2, []string{"clear R13 @100s"}},                     // already escalated: no second escalation
		{3, []string{"escalate R13 @0s", "clear R13 @100s"}}, // restored at 3, still > 105 %
	} {
		e := mustEngine(t, "efd-1", specR13)
		e.Restore([]OpenHazard{{Device: "efd-1", Rule: "R13", TicketID: "efd-1/R13/x", Level: c.level, Since: base.Add(-time.Hour)}})
		evs := runEach(e, series(t, "efd-1", base, 5*time.Second, r13Cols("70*20 50*62"), map[string]float64{"rated_current": 63}))
		wantSummary(t, evs, c.want...)
		if last := evs[len(evs)-1]; last.Level != 2 || last.TicketID != "efd-1/R13/x" {
			t.Errorf("restored at %d: clear %+v", c.level, last)
		}
	}
}

func TestExplainShowsTheSlope(t *testing.T) {
	e := mustEngine(t, "efd-1", specR12)
	runEach(e, series(t, "efd-1", base, 5*time.Second, r12Cols(ramp(25, 0.5, 13)), nil))
	rs := e.Explain(at(60))[0]
	if rs.Phase != Firing || rs.Point != "t1" || *rs.Threshold != 4 || *rs.Value < 5.9 || rs.Level != 2 {
		t.Errorf("explain %+v", rs)
	}
}

// specR19 is the arc-fault rule: 14 half-cycles in 1 s or the device's
// arc bit, one read; clear at ≤ 9 for 5 min; level 2, level 1 for the
// third episode in 24 h or with heat (R10, R12).
var specR19 = Spec{ID: "R19", Hazard: "arc_fault", Type: "threshold", Level: 2,
	Points: []string{"arc_halfcycles_1s"}, Threshold: 14, Hysteresis: 4,
	When: []BitCond{{Point: "status", Bits: []int{1}}}, MinSamples: 1, ClearFor: 5 * time.Minute,
	Escalate: []Escalation{{Level: 1, Count: 3, Within: 24 * time.Hour}, {Level: 1, IfOpen: []string{"R10"}}}}

func TestR19ThirdArcIn24HoursIsLevel1(t *testing.T) {
	e := mustEngine(t, "afd-1", specR19, specR10)
	var evs []Event
	// bursts of 20 half-cycles at 0 h, 1 h, 2 h and 25 h, each followed
	// by 10 min of quiet (5 min clears); 1 s polls around each burst
	for _, h := range []int{0, 1, 2, 25} {
		start := base.Add(time.Duration(h) * time.Hour)
		polls := series(t, "afd-1", start, time.Second, one("arc_halfcycles_1s", "0 20 25 3*600"),
			map[string]float64{"status": 0, "t1": 30, "t2": 30})
		evs = append(evs, runEach(e, polls)...)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, fmt.Sprintf("%s L%d %s", ev.Kind, ev.Level, ev.At.Sub(base)))
	}
	want := []string{"open L2 1s", "clear L2 3s", "open L2 1h0m1s", "clear L2 1h0m3s",
		"open L1 2h0m1s", "clear L1 2h0m3s", "open L2 25h0m1s", "clear L2 25h0m3s"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("events\n got  %q\n want %q", got, want)
	}
	if w := evs[4].Evidence.Window; w != "1 sample" {
		t.Errorf("the third open keeps its own window, got %q", w)
	}
}
