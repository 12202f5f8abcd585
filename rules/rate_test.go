package rules

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// ramp is n tokens from `from`, step apart per poll, rounded to 0.01.
func ramp(from, step float64, n int) string {
	toks := make([]string, n)
	for i := range toks {
		toks[i] = strconv.FormatFloat(from+step*float64(i), 'f', 2, 64)
	}
	return strings.Join(toks, " ")
}

// r12Cols is t1 as given, t2 at 30 °C, t3 and t4 unwired (absent).
func r12Cols(t1 string) map[string]string {
	n := strconv.Itoa(len(expand(t1)))
	return map[string]string{"t1": t1, "t2": "30*" + n, "t3": "a*" + n, "t4": "a*" + n}
}

func TestR12RateOfRise(t *testing.T) {
	cases := []struct {
		name string
		t1   string // 5 s polls
		want []string
	}{
		// 1.2 °C/min from 40 °C: ≥ 45 °C at 250 s; the 10 min window needs
		// 5 min of samples, so it opens at 300 s (46 °C). The plateau starts at
		// 720 s; the slope over 10 min is < 0.5 °C/min from 1050 s.
		{"slow ramp with T ≥ 45 °C", ramp(40, 0.1, 144) + " 54.4*300", []string{"open R12 @300s", "clear R12 @1050s"}},
		{"slow ramp below 45 °C", ramp(20, 0.1, 200), nil},
		{"0.8 °C/min above 45 °C", ramp(45, 0.8/12, 200), nil},
		// 6 °C/min: the 2 min window has its 5 samples and half its span at
		// 60 s. The clear waits for the 10 min slope too (< 0.5 from 690 s).
		{"fast ramp, no minimum", ramp(25, 0.5, 40) + " 45*300", []string{"open R12 @60s", "clear R12 @690s"}},
		{"one outlier spike fires nothing", "30*30 80 30*60 30.5 95 30*100", nil},
		// The first sample after the step is left out as the outlier; the
		// second confirms it. The step leaves the 10 min window at 750 s.
		{"a step is a fast rise", "30*30 60*300", []string{"open R12 @155s", "clear R12 @725s"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustEngine(t, "efd-1", specR12)
			evs := runEach(e, series(t, "efd-1", base, 5*time.Second, r12Cols(c.t1), nil))
			wantSummary(t, evs, c.want...)
		})
	}
}

func TestR12Evidence(t *testing.T) {
	e, err := NewEngine([]DeviceRules{{Device: "efd-1", Specs: []Spec{specR12},
		Points: map[string]string{"t1": "°C", "t2": "°C", "t3": "°C", "t4": "°C"}}})
	if err != nil {
		t.Fatal(err)
	}
	evs := runEach(e, series(t, "efd-1", base, 5*time.Second, r12Cols(ramp(25, 0.5, 13)), nil))
	if len(evs) != 1 {
		t.Fatalf("events %v", summary(evs))
	}
	ev := evs[0].Evidence
	if ev.Point != "t1" || ev.Unit != "°C/min" || *ev.Threshold != 4 || ev.Window != "slope over 10m|120s" ||
		*ev.Value < 5.99 || *ev.Value > 6.01 || ev.ValueAtAlarm != nil {
		t.Errorf("evidence %s", dump(ev))
	}
}

func TestR12MissingDataNeverClears(t *testing.T) {
	// Open on a fast rise, then t1 is missing for 30 min, the device fails
	// for 10 min, then t1 is flat again: the flat samples must fill half of
	// the 10 min window (5 min) and then stay flat for clear_for (10 min).
	t1 := ramp(25, 0.5, 20) + " -*360 _*120 35*400"
	e := mustEngine(t, "efd-1", specR12)
	evs := runEach(e, series(t, "efd-1", base, 5*time.Second, r12Cols(t1), nil))
	// the device is back at poll 500 (2500 s): 5 min to a slope, 10 min to clear.
	wantSummary(t, evs, "open R12 @60s", "clear R12 @2800s")
}

func TestR12RingIsBounded(t *testing.T) {
	e := mustEngine(t, "efd-1", specR12)
	runEach(e, series(t, "efd-1", base, time.Second, r12Cols("30*7200"), nil))
	g := &e.byID["efd-1"].rules[0].rings[0]
	// one sample per 2 min / 30 = 4 s, over 10 min: 150 + 2.
	if len(g.t) != 152 || g.n != 152 {
		t.Errorf("ring capacity %d, %d samples", len(g.t), g.n)
	}
}
