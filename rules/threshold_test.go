package rules

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// noise returns n values uniformly in [lo, hi], rounded to 0.1, as tokens.
func noise(seed uint64, n int, lo, hi float64) string {
	r := rand.New(rand.NewPCG(seed, 1))
	toks := make([]string, n)
	for i := range toks {
		toks[i] = strconv.FormatFloat(lo+float64(int(r.Float64()*(hi-lo)*10))/10, 'f', 1, 64)
	}
	return strings.Join(toks, " ")
}

// flags0 is R7's alarm word at rest: R7 can only look normal when it is read.
var flags0 = map[string]float64{"alarm_flags": 0}

func TestR7NoiseAroundThresholdOpensOnceClearsOnce(t *testing.T) {
	// 5 s polls: 30 s quiet, a real rise, 10 min of 295..305 noise, a dip
	// below 270 for only 55 s, back into the band, then < 270 for good.
	s := "250*6 310 320 330 " + noise(7, 120, 295, 305) + " 260*11 285 265*20"
	e := mustEngine(t, "efd-1", specR7)
	polls := series(t, "efd-1", base, 5*time.Second, one("residual_current", s), flags0)
	evs := runEach(e, polls)
	// Rise at poll 6 (30 s); the noise ends at poll 128; the dip starts at
	// poll 129 (645 s), the band sample at 140 (700 s), the last run at
	// 141 (705 s) and has 60 s by poll 153.
	wantSummary(t, evs, "open R7 @30s", "clear R7 @705s")
	if evs[0].TicketID != evs[1].TicketID || evs[0].TicketID != "efd-1/R7/20261129T081532.000" {
		t.Errorf("ticket ids %q, %q", evs[0].TicketID, evs[1].TicketID)
	}
	if got := *evs[0].Evidence.Threshold; got != 300 {
		t.Errorf("threshold %v, want the fallback 300", got)
	}
	if evs[0].Evidence.Window != "10s/3 samples" || evs[1].Evidence.Window != "60s" {
		t.Errorf("windows %q / %q", evs[0].Evidence.Window, evs[1].Evidence.Window)
	}
}

func TestThresholdSetpointReadBack(t *testing.T) {
	cases := []struct {
		name   string
		consts map[string]float64
		values string
		want   []string
		limit  float64
	}{
		{"setpoint 30 opens at 31 mA", map[string]float64{"residual_setpoint": 30, "alarm_flags": 0}, "10 31 31 31 31", []string{"open R7 @5s"}, 30},
		{"no setpoint: 31 mA is fine", nil, "10 31 31 31 31", nil, 0},
		{"no setpoint: fallback 300", nil, "10 300 301 310 310", []string{"open R7 @5s"}, 300},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustEngine(t, "efd-1", specR7)
			evs := runEach(e, series(t, "efd-1", base, 5*time.Second, one("residual_current", c.values), c.consts))
			wantSummary(t, evs, c.want...)
			if len(evs) > 0 && *evs[0].Evidence.Threshold != c.limit {
				t.Errorf("threshold %v, want %v", *evs[0].Evidence.Threshold, c.limit)
			}
		})
	}
}

func TestSetpointIsRememberedBetweenReadBacks(t *testing.T) {
	// The setpoint is read every 10 min, not on every poll.
	e := mustEngine(t, "efd-1", specR7)
	cols := map[string]string{
		"residual_current":  "10 10 40 40 40",
		"residual_setpoint": "30 - - - -",
	}
	wantSummary(t, runEach(e, series(t, "efd-1", base, 5*time.Second, cols, flags0)), "open R7 @10s")
}

func TestR10AbsentChannelsNeverFire(t *testing.T) {
	cols := map[string]string{
		"t1": "40*30", "t2": "41*30", "t3": "a*30", "t4": "a*30",
	}
	e := mustEngine(t, "efd-1", specR10)
	if evs := runEach(e, series(t, "efd-1", base, 5*time.Second, cols, nil)); len(evs) != 0 {
		t.Fatalf("absent -200 channels fired: %v", summary(evs))
	}
	// A real rise on t1 fires with t3/t4 absent; all-absent never clears.
	cols = map[string]string{
		"t1": "40 75 76 77 a*20 60*13", "t2": "41 41 41 41 a*20 60*13",
		"t3": "a a a a a*20 a*13", "t4": "a a a a a*20 a*13",
	}
	e = mustEngine(t, "efd-1", specR10)
	evs := runEach(e, series(t, "efd-1", base, 5*time.Second, cols, nil))
	wantSummary(t, evs, "open R10 @5s", "clear R10 @120s")
	ev := evs[0].Evidence
	if ev.Point != "t1" || *ev.Value != 77 || ev.Snapshot["t3"] != nil || *ev.Snapshot["t2"] != 41 {
		t.Errorf("evidence %+v", ev)
	}
	if _, ok := ev.Snapshot["t1"]; ok {
		t.Errorf("snapshot repeats the evidence point")
	}
}

func TestBelowMirrorsHysteresis(t *testing.T) {
	e := mustEngine(t, "m-1", specR16)
	v := "220 180 180 180 190 195 200*13"
	evs := runEach(e, series(t, "m-1", base, 5*time.Second, one("voltage", v), nil))
	// 190 and 195 are inside the band (187..198): the clear run starts at 200.
	wantSummary(t, evs, "open R16 @5s", "clear R16 @30s")
}

func TestBitTriggerClearsWhenTheBitDrops(t *testing.T) {
	cols := map[string]string{
		// the device's alarm bit at 280 mA (inside R7's band 270..300)
		"alarm_flags":      "0 1 1 1 0*13",
		"residual_current": "280*17",
	}
	e := mustEngine(t, "efd-1", specR7)
	evs := runEach(e, series(t, "efd-1", base, 5*time.Second, cols, nil))
	wantSummary(t, evs, "open R7 @5s", "clear R7 @20s")
	if evs[0].Evidence.Point != "alarm_flags" || evs[0].Evidence.Threshold != nil {
		t.Errorf("bit evidence %+v", evs[0].Evidence)
	}
	// Raised by the value, 280 mA stays inside the band: no clear.
	cols["residual_current"] = "280 310 310 310 280*13"
	cols["alarm_flags"] = "0*17"
	e = mustEngine(t, "efd-1", specR7)
	wantSummary(t, runEach(e, series(t, "efd-1", base, 5*time.Second, cols, nil)), "open R7 @5s")
}

func TestEvidenceValueAtAlarmAndUnit(t *testing.T) {
	e, err := NewEngine([]DeviceRules{{Device: "efd-1", Specs: []Spec{specR7},
		Points: map[string]string{"residual_current": "mA", "residual_setpoint": "mA", "alarm_flags": "", "residual_current_at_alarm": "mA", "voltage": "V"}}})
	if err != nil {
		t.Fatal(err)
	}
	polls := series(t, "efd-1", base, 5*time.Second, one("residual_current", "356*3"),
		map[string]float64{"residual_current_at_alarm": 352, "voltage": 228.4, "alarm_flags": 0})
	evs := runEach(e, polls)
	if len(evs) != 1 {
		t.Fatalf("events %v", summary(evs))
	}
	ev := evs[0].Evidence
	want := Evidence{Point: "residual_current", Value: f(356), Unit: "mA", Threshold: f(300), Window: "10s/3 samples",
		ValueAtAlarm: f(352), Snapshot: map[string]*float64{"residual_current_at_alarm": f(352), "voltage": f(228.4), "alarm_flags": f(0)}}
	if !reflect.DeepEqual(ev, want) {
		t.Errorf("evidence\n got  %s\n want %s", dump(ev), dump(want))
	}
}

func dump(ev Evidence) string {
	var b strings.Builder
	p := func(v *float64) string {
		if v == nil {
			return "nil"
		}
		return strconv.FormatFloat(*v, 'g', -1, 64)
	}
	b.WriteString(ev.Point + " " + p(ev.Value) + ev.Unit + " thr=" + p(ev.Threshold) + " w=" + ev.Window + " at=" + p(ev.ValueAtAlarm) + " snap={")
	for k, v := range ev.Snapshot {
		b.WriteString(k + ":" + p(v) + " ")
	}
	return b.String() + "}"
}

func TestMissingDataNeverClearsNorResets(t *testing.T) {
	// R3: 10 s to open, 60 s to clear, 1 s polls. Failed polls, a missing
	// point and an absent status inside the clear run change nothing.
	s := "4*11 0*20 _*5 -*5 a*5 0*26"
	e := mustEngine(t, "sd-1", specR3)
	evs := runEach(e, series(t, "sd-1", base, time.Second, one("status", s), nil))
	wantSummary(t, evs, "open R3 @0s", "clear R3 @11s")
	// Only missing data after the open: it stays open.
	e = mustEngine(t, "sd-1", specR3)
	evs = runEach(e, series(t, "sd-1", base, time.Second, one("status", "4*11 _*100 -*100 a*100"), nil))
	wantSummary(t, evs, "open R3 @0s")
}

func TestMissingPointCannotLookNormal(t *testing.T) {
	// t2 is missing (not absent) while t1 cools: the hot one might be t2.
	cols := map[string]string{
		"t1": "80 80 80 60*20", "t2": "80 80 80 -*20", "t3": "a*23", "t4": "a*23",
	}
	e := mustEngine(t, "efd-1", specR10)
	wantSummary(t, runEach(e, series(t, "efd-1", base, 5*time.Second, cols, nil)), "open R10 @0s")
}

func TestBatchEqualsOneByOne(t *testing.T) {
	s := "250*6 310 320 330 " + noise(3, 40, 260, 320) + " 260*13"
	polls := series(t, "efd-1", base, 5*time.Second, one("residual_current", s), flags0)
	a := runEach(mustEngine(t, "efd-1", specR7, specR10), polls)
	b := mustEngine(t, "efd-1", specR7, specR10).Step(base, polls)
	if len(a) < 2 || !reflect.DeepEqual(a, b) {
		t.Fatalf("batch %v != one by one %v", summary(b), summary(a))
	}
}

// specR17 is the voltage band of GB/T 12325 for 220 V systems, with
// 15 min to open and to clear (shortened to 60 s here).
var specR17 = Spec{ID: "R17", Hazard: "voltage_deviation", Type: "threshold", Level: 4,
	Points: []string{"ua", "ub", "uc"}, Op: "outside", Band: &Band{Low: 198, High: 235.4}, Hysteresis: 2,
	For: 60 * time.Second, ClearFor: 60 * time.Second}

func TestR17OutsideTheBand(t *testing.T) {
	cases := []struct {
		name string
		cols map[string]string
		want []string
		edge float64
	}{
		// ub sags below 198 for 2 min, then comes back to 201 (inside the
		// clear range 200..233.4) for 2 min.
		{"low edge", map[string]string{"ua": "220*30", "ub": "220*2 196*12 201*16", "uc": "221*30"},
			[]string{"open R17 @20s", "clear R17 @140s"}, 198},
		{"high edge", map[string]string{"ua": "236*14 230*16", "ub": "220*30", "uc": "221*30"},
			[]string{"open R17 @0s", "clear R17 @140s"}, 235.4},
		// the edges are inside; 199 and 234.4 are in the hysteresis band:
		// they neither open nor clear
		{"edges are inside", map[string]string{"ua": "198*30", "ub": "235.4*30", "uc": "220*30"}, nil, 0},
		{"band keeps it open", map[string]string{"ua": "196*14 199*16", "ub": "220*30", "uc": "221*30"},
			[]string{"open R17 @0s"}, 198},
		// a sag, then 30 min of noise across the low edge (195..199.9,
		// never past the clear edge 200): one open, one clear
		{"noise", map[string]string{"ua": "190*7 " + noise(5, 180, 195, 199.9) + " 210*7", "ub": "220*194", "uc": "220*194"},
			[]string{"open R17 @0s", "clear R17 @1870s"}, 198},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustEngine(t, "m-1", specR17)
			evs := runEach(e, series(t, "m-1", base, 10*time.Second, c.cols, nil))
			wantSummary(t, evs, c.want...)
			if len(evs) > 0 && *evs[0].Evidence.Threshold != c.edge {
				t.Errorf("threshold %v, want the crossed edge %v", *evs[0].Evidence.Threshold, c.edge)
			}
		})
	}
}

func TestR16IgnoresADeadSupply(t *testing.T) {
	r16 := specR16
	r16.IgnoreBelow = f(50)
	// A dead supply (0 V) neither opens R16 nor clears it.
	e := mustEngine(t, "m-1", r16)
	wantSummary(t, runEach(e, series(t, "m-1", base, 5*time.Second, one("voltage", "220 0*30 220*20"), nil)))
	e = mustEngine(t, "m-1", r16)
	evs := runEach(e, series(t, "m-1", base, 5*time.Second, one("voltage", "180*3 0*30 30*5 180 200*13"), nil))
	wantSummary(t, evs, "open R16 @0s", "clear R16 @195s")
}

func TestNonFiniteReadingsAreBadQuality(t *testing.T) {
	// NaN and ±Inf (a decoder fault) never fire, never clear, never reset
	// a run: R7 opens on 3 real samples around them and clears only on
	// 60 s of real normal ones.
	s := "250 NaN +Inf 310 NaN 320 -Inf 330 Inf*20 NaN*20 250*13"
	e := mustEngine(t, "efd-1", specR7)
	evs := runEach(e, series(t, "efd-1", base, 5*time.Second, one("residual_current", s), flags0))
	wantSummary(t, evs, "open R7 @15s", "clear R7 @240s")
	// A bad read-back setpoint keeps the last trusted one.
	cols := map[string]string{"residual_current": "10 40 40 40 40", "residual_setpoint": "30 NaN - Inf -"}
	e = mustEngine(t, "efd-1", specR7)
	wantSummary(t, runEach(e, series(t, "efd-1", base, 5*time.Second, cols, flags0)), "open R7 @5s")
	// Quality Bad counts like NaN; both are counted.
	e = mustEngine(t, "efd-1", specR7)
	p := Poll{Device: "efd-1", At: base, OK: true, Readings: []Reading{
		{Point: "residual_current", Value: 900, Quality: Bad}, {Point: "alarm_flags", Value: 0}, {Point: "voltage", Value: math.NaN()}}}
	if evs := e.Step(base, []Poll{p}); len(evs) != 0 || e.BadReadings("efd-1") != 2 {
		t.Fatalf("events %v, bad readings %d", summary(evs), e.BadReadings("efd-1"))
	}
	if rs := e.Explain(base); rs[0].Phase != Inactive {
		t.Fatalf("a bad reading started a run: %+v", rs[0])
	}
}

func TestR7Shapes(t *testing.T) {
	cases := []struct {
		name string
		s    string // 5 s polls
		want []string
	}{
		// +1 mA per poll from 250 to 350 and back: one open at the first
		// 300 (250 s), one clear when < 270 holds for 60 s (269 mA at 905 s).
		{"slow ramp up and down", ramp(250, 1, 101) + " " + ramp(349, -1, 100) + " 249*13", []string{"open R7 @250s", "clear R7 @905s"}},
		{"ramp up to just below", ramp(250, 0.49, 101) + " 299.9*50", nil},
		{"step up and down", "250*6 400*24 100*13", []string{"open R7 @30s", "clear R7 @150s"}},
		// a step up for less than 10 s (2 samples) opens nothing
		{"short step", "250*6 400*2 250*20", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustEngine(t, "efd-1", specR7)
			wantSummary(t, runEach(e, series(t, "efd-1", base, 5*time.Second, one("residual_current", c.s), flags0)), c.want...)
		})
	}
}

func TestClockForward(t *testing.T) {
	// The clock jumps 1 h forward between polls of a pending run: the jump is
	// a gap, which neither advances nor resets the run, so the third sample
	// opens R7 with the run's first sample as occurred_at. Forward in the
	// clearing run, the same: the clear needs its samples on both sides.
	e := mustEngine(t, "efd-1", specR7)
	p := func(sec int, v float64) Poll {
		return Poll{Device: "efd-1", At: at(sec), OK: true, Readings: []Reading{{Point: "residual_current", Value: v}, {Point: "alarm_flags", Value: 0}}}
	}
	evs := runEach(e, []Poll{p(0, 310), p(5, 310), p(3605, 310), p(3610, 250), p(3615, 250), p(7215, 250)})
	wantSummary(t, evs, "open R7 @0s", "clear R7 @3610s")
}
