package rules

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// specR18 is smart-meter-3p's R18a: the status bits, or one phase below
// 50 V while the other two are above 180 V.
var specR18 = Spec{ID: "R18a", Hazard: "phase_loss", Type: "status", Level: 2,
	When: []BitCond{
		{Point: "status", Bits: []int{1, 2, 3}},
		{All: []BitCond{{Point: "ua", Below: f(50)}, {Point: "ub", Above: f(180)}, {Point: "uc", Above: f(180)}}},
		{All: []BitCond{{Point: "ub", Below: f(50)}, {Point: "ua", Above: f(180)}, {Point: "uc", Above: f(180)}}},
		{All: []BitCond{{Point: "uc", Below: f(50)}, {Point: "ua", Above: f(180)}, {Point: "ub", Above: f(180)}}},
	},
	For: 5 * time.Second, ClearFor: 60 * time.Second}

func TestR18PhaseLossByVoltages(t *testing.T) {
	cases := []struct {
		name, ua, ub, uc, status string
		step                     time.Duration
		want                     []string
	}{
		{"phase A lost for 5 s opens, back for 60 s clears", "230 0*6 230*61", "231*68", "229*68", "0*68", time.Second,
			[]string{"open R18a @1s", "clear R18a @7s"}},
		{"phase C lost for 4 s: nothing; for 5 s: open", "230*14", "230*14", "230 20*5 230 20*6 230", "0*14", time.Second,
			[]string{"open R18a @7s"}},
		{"single-phase wiring: two dead phases never match", "230*10", "0*10", "0*10", "0*10", time.Second, nil},
		{"a dead supply is not a phase loss", "0*10", "0*10", "0*10", "0*10", time.Second, nil},
		{"the others sag to 180: not above, nothing", "0*10", "180*10", "230*10", "0*10", time.Second, nil},
		{"status bit alone still opens", "230*7", "230*7", "230*7", "0 4*6", time.Second, []string{"open R18a @1s"}},
		// The voltages every 5 s, the status word every second (DESIGN §8.1):
		// the polls without voltages neither advance nor reset the runs.
		{"voltages every fifth poll", "230 - - - - 0 - - - - 0 - - - -", "230 - - - - 230 - - - - 230 - - - -",
			"230 - - - - 230 - - - - 230 - - - -", "0*15", time.Second, []string{"open R18a @5s"}},
		{"an unread phase is unknown, never normal", "0 0*5 0*70", "230 230*5 -*70", "230 230*5 230*70", "0*76", time.Second,
			[]string{"open R18a @0s"}},
		{"an absent phase neither clears", "0*6 230*70", "230*6 a*70", "230*76", "0*76", time.Second, []string{"open R18a @0s"}},
		{"a NaN phase neither clears", "0*6 230*70", "230*6 NaN*70", "230*76", "0*76", time.Second, []string{"open R18a @0s"}},
		{"a NaN phase never opens", "0*10", "NaN*10", "230*10", "0*10", time.Second, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustEngine(t, "m-1", specR18)
			cols := map[string]string{"ua": c.ua, "ub": c.ub, "uc": c.uc, "status": c.status}
			evs := runEach(e, series(t, "m-1", base, c.step, cols, nil))
			wantSummary(t, evs, c.want...)
		})
	}
}

func TestR18EvidenceIsTheLostPhase(t *testing.T) {
	e := mustEngine(t, "m-1", specR18)
	cols := map[string]string{"ua": "230*6", "ub": "12*6", "uc": "231*6", "status": "0*6"}
	evs := runEach(e, series(t, "m-1", base, time.Second, cols, nil))
	if len(evs) != 1 || evs[0].Evidence.Point != "ub" || *evs[0].Evidence.Value != 12 {
		t.Fatalf("events %+v", evs)
	}
	if s := evs[0].Evidence.Snapshot; s["ua"] == nil || *s["ua"] != 230 || s["uc"] == nil {
		t.Errorf("snapshot %v", dump(Evidence{Snapshot: s}))
	}
}

func TestCondOnePoint(t *testing.T) {
	cases := []struct {
		name string
		cond BitCond
		x    string
		want []string
	}{
		{"in", BitCond{Point: "x", In: []float64{2, 3}}, "1 2 3 4 3", []string{"open R @1s", "clear R @3s", "open R @4s"}},
		{"above is strict", BitCond{Point: "x", Above: f(10)}, "10 10.5 10 11", []string{"open R @1s", "clear R @2s", "open R @3s"}},
		{"below is strict", BitCond{Point: "x", Below: f(-5)}, "-5 -6 -5", []string{"open R @1s", "clear R @2s"}},
		{"absent and NaN are unknown", BitCond{Point: "x", Above: f(10)}, "11 a NaN - 9", []string{"open R @0s", "clear R @4s"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := Spec{ID: "R", Hazard: "sensor_wiring_fault", Type: TypeStatus, When: []BitCond{c.cond}}
			evs := runEach(mustEngine(t, "d", s), series(t, "d", base, time.Second, one("x", c.x), nil))
			wantSummary(t, evs, c.want...)
		})
	}
}

// An all condition is an extra trigger on a threshold rule too, and its
// unknown keeps the value from clearing.
func TestCondAllOnThreshold(t *testing.T) {
	s := specR7
	s.For, s.MinSamples, s.ClearFor = 0, 0, 0
	s.When = []BitCond{{All: []BitCond{{Point: "alarm_flags", In: []float64{1, 3}}, {Point: "t1", Above: f(60)}}}}
	cols := map[string]string{
		"residual_current": "10 10 10 10 10 10",
		"alarm_flags":      "1  1  1  -  1  0",
		"t1":               "50 61 61 61 20 61",
	}
	evs := runEach(mustEngine(t, "efd", s), series(t, "efd", base, time.Second, cols, nil))
	wantSummary(t, evs, "open R7 @1s", "clear R7 @4s")
}

func TestCondValidate(t *testing.T) {
	points := func(n string) bool { return n == "ua" || n == "ub" || n == "status" }
	cases := []struct {
		name string
		when []BitCond
		tm   *BitCond
		want []string
	}{
		{"good", []BitCond{{Point: "status", In: []float64{1}}, {All: []BitCond{{Point: "ua", Below: f(50)}, {Point: "ub", Above: f(180)}}}}, nil, nil},
		{"two keys", []BitCond{{Point: "ua", Above: f(1), Below: f(2)}}, nil,
			[]string{"when[0]: set exactly one of bits, equals, not_equals, not_equals_param, in, above, below, all"}},
		{"no key", []BitCond{{Point: "ua"}}, nil, []string{"when[0]: set exactly one of bits, equals, not_equals, not_equals_param, in, above, below, all"}},
		{"empty in, NaN and Inf", []BitCond{{Point: "ua", In: []float64{}}, {Point: "ua", In: []float64{1, math.NaN()}},
			{Point: "ub", Above: f(math.Inf(1))}}, nil, []string{
			"when[0].in: needs at least one value",
			"when[1].in[1]: NaN is not a finite number",
			"when[2].above: +Inf is not a finite number"}},
		{"nested paths", []BitCond{{Point: "ua", Bits: []int{0}}, {All: []BitCond{{Point: "ua", Below: f(50)}, {Point: "uc", In: []float64{}}}}}, nil,
			[]string{`when[1].all[1].point: "uc" is not a point of this profile`, "when[1].all[1].in: needs at least one value"}},
		{"deeper nesting", []BitCond{{All: []BitCond{{Point: "ua", Below: f(50)}, {All: []BitCond{{Point: "ub", Above: f(1)}}}}}}, nil,
			[]string{"when[0].all[1].all: conditions nest one level only: list these conditions in the outer all"}},
		{"all with a point, all with another key, empty all", []BitCond{{Point: "ua", All: []BitCond{{Point: "ub", Above: f(1)}}},
			{All: []BitCond{{Point: "ub", Above: f(1)}}, Equals: f(1)}, {All: []BitCond{}}}, nil, []string{
			"when[0].point: is not used with all (each nested condition names its point)",
			"when[1]: set exactly one of bits, equals, not_equals, not_equals_param, in, above, below, all",
			"when[2].all: needs at least one condition"}},
		{"a nested condition without a point", []BitCond{{All: []BitCond{{Above: f(1)}}}}, nil, []string{"when[0].all[0].point: a point name is required"}},
		{"test mode takes one point", []BitCond{{Point: "status", Bits: []int{1}}}, &BitCond{All: []BitCond{{Point: "status", Bits: []int{0}}}},
			[]string{"test_mode.all: is not used in test_mode (test mode is one point's condition, or any of several)"}},
		{"test mode in", []BitCond{{Point: "status", Bits: []int{1}}}, &BitCond{Point: "status", In: []float64{15, 14}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := Spec{ID: "R18a", Hazard: "phase_loss", Type: TypeStatus, When: c.when, TestMode: c.tm}
			var got []string
			for _, err := range s.Validate(points) {
				var fe *FieldError
				if !errors.As(err, &fe) {
					t.Errorf("%v is not a FieldError", err)
				}
				got = append(got, err.Error())
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// NewEngine names the device, the rule and the nested key.
func TestCondEngineError(t *testing.T) {
	s := specR18
	s.When = []BitCond{{All: []BitCond{{Point: "ua", Below: f(50)}, {Point: "ub", In: []float64{}}}}}
	_, err := NewEngine([]DeviceRules{{Device: "m-1", Specs: []Spec{s}}})
	if err == nil || err.Error() != `device "m-1": rules[0] (R18a): when[0].all[1].in: needs at least one value` {
		t.Fatalf("error %v", err)
	}
}

// BenchmarkCondR18 is one poll of 20 three-phase meters with R18a only
// (a bit condition and three all conditions of three points each, all
// false: every condition is evaluated). ns/op over 20 devices.
func BenchmarkCondR18(b *testing.B) {
	var devs []DeviceRules
	var polls []Poll
	for i := range 20 {
		dev := fmt.Sprintf("m-%02d", i)
		devs = append(devs, DeviceRules{Device: dev, Specs: []Spec{specR18}})
		polls = append(polls, Poll{Device: dev, OK: true, Readings: []Reading{
			{Point: "status", Value: 0}, {Point: "ua", Value: 230}, {Point: "ub", Value: 231}, {Point: "uc", Value: 229}}})
	}
	e, err := NewEngine(devs)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		now := base.Add(time.Duration(i) * time.Second)
		for j := range polls {
			polls[j].At = now
		}
		if evs := e.Step(now, polls); len(evs) != 0 {
			b.Fatal(summary(evs))
		}
	}
}
