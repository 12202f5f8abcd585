package rules

import (
	"math"
	"strings"
	"testing"
	"time"
)

// The specs below are those of the shipped profiles (configs/profiles),
// with their device parameters.

// specR26 is electrical-fire-1p's R26: setpoints read back against the
// configured ones.
var specR26 = Spec{
	ID: "R26", Hazard: "setpoint_mismatch", Type: TypeStatus, MinSamples: 2, Level: 4,
	When: []BitCond{
		{Point: "residual_setpoint", NotEqualsParam: "residual_setpoint_ma"},
		{Point: "temp_setpoint", NotEqualsParam: "temp_setpoint_c"},
		{Point: "alarm_delay", NotEqualsParam: "alarm_delay_s"},
		{Point: "rated_current", NotEqualsParam: "rated_current_a"},
	},
}

// specR13param is chint-dtsu666's R13 (no rated current of its own).
var specR13param = Spec{
	ID: "R13", Hazard: "overload", Type: TypeThreshold, Points: []string{"ia", "ib", "ic"},
	ThresholdParam: "rated_current_a", HysteresisPct: 5, For: 60 * time.Second, ClearFor: 5 * time.Minute, Level: 3,
	Escalate: []Escalation{{Level: 2, ThresholdFactor: 1.05, For: 60 * time.Second}},
}

// specR14param is chint-dtsu666's R14.
var specR14param = Spec{
	ID: "R14", Hazard: "high_load", Type: TypeThreshold, Points: []string{"ia", "ib", "ic"},
	ThresholdParam: "rated_current_a", ThresholdFactor: 0.9, HysteresisPct: 5.6,
	For: 10 * time.Minute, ClearFor: 10 * time.Minute, Level: 4,
}

func paramEngine(t *testing.T, dev string, params map[string]float64, specs ...Spec) *Engine {
	t.Helper()
	e, err := NewEngine([]DeviceRules{{Device: dev, Specs: specs, Params: params}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// setpoints is one 10-minute setpoint read of an electrical-fire-1p.
func setpoints(dev string, i int, residual, temp, delay, rated float64) Poll {
	return Poll{Device: dev, At: base.Add(time.Duration(i) * 10 * time.Minute), OK: true, Readings: []Reading{
		{Point: "residual_setpoint", Value: residual}, {Point: "temp_setpoint", Value: temp},
		{Point: "alarm_delay", Value: delay}, {Point: "rated_current", Value: rated},
	}}
}

// A site that set its detector to 500 mA / 90 °C (XLPE) and says so in
// devices[].params gets no R26 from a device that reads back exactly that,
// read after read: the configured values are the reference, not the
// profile's 300 mA / 70 °C. The rated current read back through the
// register's scale (630 × 0.1 = 63.00000000000001) matches a configured 63.
func TestR26ConfiguredSetpointsMatch(t *testing.T) {
	params := map[string]float64{"residual_setpoint_ma": 500, "temp_setpoint_c": 90, "alarm_delay_s": 5, "rated_current_a": 63}
	e := paramEngine(t, "efd-1", params, specR26)
	var polls []Poll
	for i := range 12 {
		polls = append(polls, setpoints("efd-1", i, 500, 90, 5, 630*0.1))
	}
	if evs := runEach(e, polls); len(evs) != 0 {
		t.Fatalf("a device matching its configured setpoints raised %v", summary(evs))
	}
	if n := e.Notes(); len(n) != 0 {
		t.Errorf("notes %v, want none: every parameter is set", n)
	}
}

// The same device under the profile's defaults (no params) raises R26:
// 500 mA is not the default 300 mA. This is the level-4-forever ticket of
// a site with other setpoints, before its params are configured.
func TestR26DefaultsMismatch(t *testing.T) {
	defaults := map[string]float64{"residual_setpoint_ma": 300, "temp_setpoint_c": 70}
	e := paramEngine(t, "efd-1", defaults, specR26)
	evs := runEach(e, []Poll{setpoints("efd-1", 0, 500, 90, 5, 63), setpoints("efd-1", 1, 500, 90, 5, 63)})
	wantSummary(t, evs, "open R26 @0s") // an event is stamped with its first observation
	if ev := evs[0].Evidence; ev.Point != "residual_setpoint" || *ev.Value != 500 || ev.Threshold == nil || *ev.Threshold != 300 {
		t.Errorf("evidence %+v: want residual_setpoint 500 against the configured 300", ev)
	}
}

// A setpoint changed on the device (someone re-set it) opens R26 after two
// reads that differ from the configuration, not after one; it clears when
// the device reads back the configured value again. alarm_delay_s and
// rated_current_a have no default: unset, their registers are not checked.
func TestR26MismatchOnTwoReads(t *testing.T) {
	params := map[string]float64{"residual_setpoint_ma": 500, "temp_setpoint_c": 90}
	e := paramEngine(t, "efd-1", params, specR26)
	polls := []Poll{
		setpoints("efd-1", 0, 500, 90, 12, 40), // delay and rating not configured: ignored
		setpoints("efd-1", 1, 300, 90, 12, 40), // one read off
		setpoints("efd-1", 2, 500, 90, 12, 40), // back
		setpoints("efd-1", 3, 500, 70, 12, 40), // temperature re-set
		setpoints("efd-1", 4, 500, 70, 12, 40), // second read: R26
		setpoints("efd-1", 5, 500, 90, 12, 40), // fixed
	}
	wantSummary(t, runEach(e, polls), "open R26 @1800s", "clear R26 @3000s")
}

// A rated current configured on a meter (no rated current of its own):
// R13 opens after 60 s above 100 % and escalates to level 2 after 60 s
// above 105 %; R14 opens after 10 min at ≥ 90 %.
func TestR13R14WithRatedCurrent(t *testing.T) {
	e := paramEngine(t, "meter-1", map[string]float64{"rated_current_a": 100}, specR13param, specR14param)
	cols := map[string]string{
		"ia": "80*12 92*130 102*15 108*15 50*130",
		"ib": "10*302", "ic": "10*302",
	}
	evs := runEach(e, series(t, "meter-1", base, 5*time.Second, cols, nil))
	// Events are stamped with their first observation: 92 A from 60 s (R14
	// confirmed 10 min later); 102 A from 710 s (R13, 60 s); 108 A from
	// 785 s (level 2, 60 s); 50 A from 860 s clears both after their clear
	// windows (5 min, 10 min).
	wantSummary(t, evs, "open R14 @60s", "open R13 @710s", "escalate R13 @785s", "clear R13 @860s", "clear R14 @860s")
	if evs[2].Level != 2 || *evs[1].Evidence.Threshold != 100 {
		t.Errorf("R13: escalated to %d with limit %v, want 2 and 100", evs[2].Level, *evs[1].Evidence.Threshold)
	}
}

// No rated current: R13 and R14 are not compiled on the meter (there is no
// guessed limit), the engine says so, and a current of any size raises
// nothing.
func TestR13R14LeftOutWithoutRatedCurrent(t *testing.T) {
	e := paramEngine(t, "meter-1", nil, specR13param, specR14param)
	notes := e.Notes()
	var got []string
	for _, n := range notes {
		got = append(got, n.String())
	}
	want := `device "meter-1": R13 not compiled: no rated_current_a; device "meter-1": R14 not compiled: no rated_current_a`
	if strings.Join(got, "; ") != want {
		t.Errorf("notes:\n got  %s\n want %s", strings.Join(got, "; "), want)
	}
	cols := map[string]string{"ia": "500*300", "ib": "500*300", "ic": "500*300"}
	if evs := runEach(e, series(t, "meter-1", base, 5*time.Second, cols, nil)); len(evs) != 0 {
		t.Errorf("events %v without a rated current", summary(evs))
	}
	if n := len(e.Explain(base)); n != 0 {
		t.Errorf("Explain lists %d rules, want none", n)
	}
}

// peacefair-pzem-004t's R13: current against rated_current_a, or the
// module's own power alarm. Without rated_current_a it runs on the alarm
// alone (a status rule), and the note says so.
func TestR13FlagOnlyWithoutRatedCurrent(t *testing.T) {
	spec := Spec{
		ID: "R13", Hazard: "overload", Type: TypeThreshold, Points: []string{"current"},
		ThresholdParam: "rated_current_a", HysteresisPct: 5, When: []BitCond{{Point: "power_alarm", NotEquals: f(0)}},
		For: 60 * time.Second, ClearFor: 5 * time.Minute, Level: 3,
		Escalate: []Escalation{{Level: 2, ThresholdFactor: 1.05, For: 60 * time.Second}},
	}
	cols := map[string]string{"current": "90*40", "power_alarm": "0*20 65535*20"}

	flag := paramEngine(t, "pzem-1", nil, spec)
	if n := flag.Notes(); len(n) != 1 || !n[0].Compiled || !strings.Contains(n[0].Note, "own flag only") {
		t.Errorf("notes %v", n)
	}
	wantSummary(t, runEach(flag, series(t, "pzem-1", base, 5*time.Second, cols, nil)), "open R13 @100s")

	rated := paramEngine(t, "pzem-1", map[string]float64{"rated_current_a": 80}, spec)
	evs := runEach(rated, series(t, "pzem-1", base, 5*time.Second, cols, nil))
	wantSummary(t, evs, "open R13 @0s") // 90 A > 105 % of 80 A: level 2 from the start
	if evs[0].Level != 2 {
		t.Errorf("level %d, want 2", evs[0].Level)
	}
}

// electrical-fire-1p's R13 has a rated-current register: without the
// parameter it keeps judging against the read-back; with it, the configured
// rating is the limit whatever the device reads back.
func TestR13ParamOverridesReadBack(t *testing.T) {
	spec := specR13
	spec.ThresholdParam = "rated_current_a"
	cols := one("current", "50*20")
	readBack := map[string]float64{"rated_current": 40, "alarm_flags": 0}

	e := paramEngine(t, "efd-1", nil, spec)
	if n := e.Notes(); len(n) != 0 {
		t.Errorf("notes %v: the read-back is a quiet fallback", n)
	}
	wantSummary(t, runEach(e, series(t, "efd-1", base, 5*time.Second, cols, readBack)), "open R13 @0s")

	e = paramEngine(t, "efd-1", map[string]float64{"rated_current_a": 63}, spec)
	if evs := runEach(e, series(t, "efd-1", base, 5*time.Second, cols, readBack)); len(evs) != 0 {
		t.Errorf("50 A on a 63 A circuit raised %v (the device reads back 40 A: R26's business)", summary(evs))
	}
}

// A rule left out for want of a parameter is dropped from the escalation
// and compound references of the others, instead of failing the device.
func TestLeftOutRuleReferences(t *testing.T) {
	r12 := Spec{ID: "R12", Hazard: "temp_rise_rate", Type: TypeRate, Points: []string{"t1"},
		Slopes: []SlopeCond{{Window: 2 * time.Minute, Slope: 4}}, Level: 2,
		Escalate: []Escalation{{Level: 1, IfOpen: []string{"R13"}}}}
	r22 := Spec{ID: "R22", Hazard: "compound_electrical", Type: TypeCompound, Level: 1,
		AllOf: []RuleGroup{{AnyOf: []string{"R13"}}, {AnyOf: []string{"R12"}}}}
	if _, err := NewEngine([]DeviceRules{{Device: "m", Specs: []Spec{specR13param, r12, r22}}}); err != nil {
		t.Fatal(err)
	}
}

// NaN and infinite parameter values are refused when the engine is built.
func TestParamValuesFinite(t *testing.T) {
	_, err := NewEngine([]DeviceRules{{Device: "m", Specs: []Spec{specR13param},
		Params: map[string]float64{"rated_current_a": math.NaN(), "x": math.Inf(1)}}})
	want := `device "m": params.rated_current_a: NaN is not a finite number` + "\n" + `device "m": params.x: +Inf is not a finite number`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want\n%s", err, want)
	}
}

// Validation of the parameter keys.
func TestParamKeysValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
		want string
	}{
		{"threshold with threshold_param alone", Spec{ID: "R13", Hazard: "overload", Type: TypeThreshold,
			Points: []string{"ia"}, Threshold: 63, ThresholdParam: "rated_current_a"},
			"threshold: is not used with threshold_param alone"},
		{"bad name", Spec{ID: "R13", Hazard: "overload", Type: TypeThreshold, Points: []string{"ia"}, ThresholdParam: "Rated-A"},
			`threshold_param: "Rated-A" is not a parameter name`},
		{"threshold_param on a status rule", Spec{ID: "R26", Hazard: "setpoint_mismatch", Type: TypeStatus,
			ThresholdParam: "x", When: []BitCond{{Point: "p", NotEqualsParam: "y"}}},
			"threshold_param: is not used by status rules"},
		{"threshold_param with op outside", Spec{ID: "R17", Hazard: "voltage_deviation", Type: TypeThreshold,
			Points: []string{"ua"}, Op: "outside", Band: &Band{Low: 198, High: 235}, ThresholdParam: "x"},
			"threshold_param: is not used with op outside"},
		{"not_equals_param and not_equals", Spec{ID: "R26", Hazard: "setpoint_mismatch", Type: TypeStatus,
			When: []BitCond{{Point: "p", NotEqualsParam: "y", NotEquals: f(3)}}},
			"when[0]: set exactly one of"},
		{"not_equals_param inside all", Spec{ID: "R26", Hazard: "setpoint_mismatch", Type: TypeStatus,
			When: []BitCond{{All: []BitCond{{Point: "p", NotEqualsParam: "y"}}}}},
			"when[0].all[0].not_equals_param: is not used inside all"},
		{"not_equals_param in test_mode", Spec{ID: "R26", Hazard: "setpoint_mismatch", Type: TypeStatus,
			When: []BitCond{{Point: "p", Equals: f(1)}}, TestMode: &BitCond{Point: "s", NotEqualsParam: "y"}},
			"test_mode.not_equals_param: is not used in test_mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var msgs []string
			for _, e := range tc.spec.Validate(nil) {
				msgs = append(msgs, e.Error())
			}
			if got := strings.Join(msgs, "\n"); !strings.Contains(got, tc.want) {
				t.Errorf("problems:\n%s\nwant one containing %q", got, tc.want)
			}
		})
	}
}

// A hysteresis that reaches past zero once the parameter is bound is an
// error when the engine is built, like for a constant threshold.
func TestParamHysteresisBound(t *testing.T) {
	spec := specR13param
	spec.HysteresisPct, spec.Hysteresis = 0, 5
	_, err := NewEngine([]DeviceRules{{Device: "m", Specs: []Spec{spec}, Params: map[string]float64{"rated_current_a": 4}}})
	want := `device "m": rules[0] (R13): hysteresis: 5 is larger than the limit 4 (params.rated_current_a): the rule would clear only below -1`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}
