package rules

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// cst is the site's local time in the creep tests (China Standard Time).
var cst = time.FixedZone("CST", 8*3600)

// day0 is local midnight of the first simulated day.
var day0 = time.Date(2026, 11, 1, 0, 0, 0, 0, cst)

// specR9 is the shipped R9: night median 02:00–05:00, 7-night slope
// ≥ 15 mA/day or ≥ 1.5 × the 30-night median, both with a baseline
// ≥ 100 mA; 2 nights to open, 7 to clear; level 2 when the setpoint is
// projected less than 14 days away.
var specR9 = Spec{ID: "R9", Hazard: "leakage_creep", Type: "creep", Level: 3,
	Points: []string{"residual_current"}, Threshold: 300, ThresholdPoint: "residual_setpoint",
	Creep:      &Creep{Night: "02:00-05:00", Slope: 15, SlopeDays: 7, Ratio: 1.5, RatioDays: 30, MinBaseline: 100},
	MinSamples: 2, ClearSamples: 7,
	Escalate: []Escalation{{Level: 2, CrossDays: 14}}}

// leak is a residual current over days: v(day, local hour), ok false for
// a failed poll.
type leak func(day int, hour float64) (v float64, ok bool)

// runDays polls one device every step for days days from day0 (consts
// added to every good poll) and returns the events.
func runDays(e *Engine, dev string, days int, step time.Duration, v leak, consts map[string]float64) []Event {
	var out []Event
	for t := day0; t.Before(day0.AddDate(0, 0, days)); t = t.Add(step) {
		day := int(t.Sub(day0) / (24 * time.Hour))
		x, ok := v(day, float64(t.Sub(day0.AddDate(0, 0, day)))/float64(time.Hour))
		p := Poll{Device: dev, At: t, OK: ok}
		if ok {
			p.Readings = append(p.Readings, Reading{Point: "residual_current", Value: x})
			for _, k := range sortedKeys(consts) {
				p.Readings = append(p.Readings, Reading{Point: k, Value: consts[k]})
			}
		}
		out = append(out, e.Step(t, []Poll{p})...)
	}
	return out
}

// nights renders events as "open R9 L2 day 13 05:00" (local time).
func nights(evs []Event) string {
	s := make([]string, len(evs))
	for i, ev := range evs {
		t := ev.At.In(cst)
		s[i] = fmt.Sprintf("%s %s L%d day %d %s", ev.Kind, ev.Rule, ev.Level, int(t.Sub(day0)/(24*time.Hour)), t.Format("15:04"))
	}
	return strings.Join(s, ", ")
}

// daily is a day with a daytime load (leakage follows the load, up to
// +60 mA by day) and a quiet night at base(day), with ±5 mA noise.
func daily(seed uint64, base func(day int) float64) leak {
	r := rand.New(rand.NewPCG(seed, 2))
	return func(day int, h float64) (float64, bool) {
		load := 0.0
		if h >= 7 && h < 22 {
			load = 60 * math.Sin(math.Pi*(h-7)/15)
		}
		return base(day) + load + (r.Float64()-0.5)*10, true
	}
}

func TestR9Creep(t *testing.T) {
	ramp := func(start int, from, perDay float64) func(int) float64 {
		return func(d int) float64 { return from + perDay*float64(max(0, d-start)) }
	}
	cases := []struct {
		name   string
		spec   func(s *Spec)
		days   int
		base   func(int) float64
		consts map[string]float64
		want   string
	}{
		{"flat 80 mA with a daytime load: nothing", nil, 45, ramp(0, 80, 0), nil, ""},
		{"high but flat: nothing", nil, 45, ramp(0, 180, 0), nil, ""},
		// +20 mA/day from 60 mA after day 9: night 11's baseline (100 mA)
		// is 1.5 × the 60 mA median, night 12 (120) confirms: open at
		// level 3 (7-night slope 10 mA/day: 300 mA is 18 days away); on
		// night 13 (140, slope 14) it is 11.4 days away: level 2.
		{"creep +20 mA/day", nil, 16, ramp(9, 60, 20), nil, "open R9 L3 day 11 05:00, escalate R9 L2 day 13 05:00"},
		// the same creep under a 710 mA setpoint escalates when the
		// baseline passes 430 mA (night 28: 440 mA, 13.5 days away)
		{"creep under a high setpoint", nil, 40, ramp(9, 60, 20), map[string]float64{"residual_setpoint": 710},
			"open R9 L3 day 11 05:00, escalate R9 L2 day 28 05:00"},
		// below the 100 mA floor a creep is not yet a hazard
		{"creep below the floor", nil, 16, ramp(9, 0, 10), nil, ""},
		// ratio only: a step from 80 to 130 mA (≥ 1.5 × 80) on day 20 that
		// lasts 5 nights: 2 nights to open, 7 nights back at 80 to clear
		{"step, ratio only", func(s *Spec) { s.Creep.Slope = 0; s.Escalate = nil }, 40,
			func(d int) float64 { return map[bool]float64{true: 130, false: 80}[d >= 20 && d < 25] },
			nil, "open R9 L3 day 20 05:00, clear R9 L3 day 25 05:00"},
		// a slow creep of 5 mA/day never reaches the slope
		{"slow creep", nil, 40, ramp(0, 100, 5), nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := specR9
			s.Creep = new(*specR9.Creep)
			if c.spec != nil {
				c.spec(&s)
			}
			e := mustEngine(t, "efd-1", s)
			evs := runDays(e, "efd-1", c.days, time.Minute, daily(1, c.base), c.consts)
			if got := nights(evs); got != c.want {
				t.Fatalf("events\n got  %s\n want %s", got, c.want)
			}
		})
	}
}

func TestR9Evidence(t *testing.T) {
	e := mustEngine(t, "efd-1", specR9)
	evs := runDays(e, "efd-1", 15, time.Minute, daily(1, func(d int) float64 { return 60 + 20*float64(max(0, d-9)) }), nil)
	if len(evs) != 2 {
		t.Fatalf("events %s", nights(evs))
	}
	// the open is decided by night 12: baseline 120 mA, the 7-night slope
	// of 60 60 60 60 80 100 120 is 10 mA/day
	ev := evs[0].Evidence
	if ev.Point != "residual_current" || ev.Value == nil || math.Abs(*ev.Value-120) > 1 {
		t.Errorf("evidence point %q value %v, want tonight's baseline ≈ 120", ev.Point, ev.Value)
	}
	if ev.Slope == nil || math.Abs(*ev.Slope-10) > 0.5 {
		t.Errorf("slope %v, want ≈ 10 mA/day", ev.Slope)
	}
	if ev.Threshold == nil || math.Abs(*ev.Threshold-90) > 0.5 {
		t.Errorf("threshold %v, want 1.5 × the 30-night median 60", dump(Evidence{Threshold: ev.Threshold}))
	}
	want := "night median 02:00-05:00 UTC+08:00, 7-night slope or 1.5 × 30-night median, 2 nights"
	if ev.Window != want {
		t.Errorf("window %q, want %q", ev.Window, want)
	}
	if w := evs[1].Evidence.Window; w != "limit projected within 14 days" {
		t.Errorf("escalation window %q", w)
	}
}

func TestR9MissingNightsNeverClearNorReset(t *testing.T) {
	// Night 11 triggers, night 12 has no data (offline 01:00–06:00), night
	// 13 triggers: the two judged nights open the episode. Later the
	// baseline drops back, but on offline nights only: it stays open.
	base := func(d int) float64 {
		if d >= 17 {
			return 60
		}
		return 60 + 20*float64(max(0, d-9))
	}
	v := daily(1, base)
	gaps := func(day int, h float64) (float64, bool) {
		if (day == 12 || day >= 17) && h >= 1 && h < 6 {
			return 0, false
		}
		return v(day, h)
	}
	e := mustEngine(t, "efd-1", specR9)
	evs := runDays(e, "efd-1", 30, time.Minute, gaps, nil)
	if got, want := nights(evs), "open R9 L2 day 11 05:00"; got != want {
		t.Fatalf("events\n got  %s\n want %s", got, want)
	}
	// A night seen for less than half its window gives no baseline.
	short := func(day int, h float64) (float64, bool) {
		if h >= 3.4 && h < 6 { // 84 min of a 180 min night
			return 0, false
		}
		return v(day, h)
	}
	e = mustEngine(t, "efd-1", specR9)
	if evs := runDays(e, "efd-1", 20, time.Minute, short, nil); len(evs) != 0 {
		t.Fatalf("short nights judged: %s", nights(evs))
	}
}

func TestR9UsesTheSiteLocalNight(t *testing.T) {
	// The leak rises only between 10:00 and 13:00 CST, which is 02:00–05:00
	// UTC: a rule set to UTC sees it, the default (+08:00) does not.
	v := func(day int, h float64) (float64, bool) {
		if h >= 10 && h < 13 {
			return 60 + 20*float64(max(0, day-9)), true
		}
		return 60, true
	}
	e := mustEngine(t, "efd-1", specR9)
	if evs := runDays(e, "efd-1", 16, time.Minute, v, nil); len(evs) != 0 {
		t.Fatalf("+08:00 night fired on a daytime rise: %s", nights(evs))
	}
	utc := specR9
	utc.Creep = &Creep{Night: "02:00-05:00", UTCOffset: "Z", Slope: 15, Ratio: 1.5, MinBaseline: 100}
	e = mustEngine(t, "efd-1", utc)
	evs := runDays(e, "efd-1", 16, time.Minute, v, nil)
	if len(evs) == 0 || evs[0].Kind != Open || evs[0].At.UTC().Format("15:04") != "05:00" {
		t.Fatalf("UTC night missed the rise: %s", nights(evs))
	}
}

func TestR9ClockJumps(t *testing.T) {
	e := mustEngine(t, "efd-1", specR9)
	v := daily(1, func(d int) float64 { return 60 + 20*float64(max(0, d-9)) })
	// 12 days, then the clock steps back 30 h (before night 11, already
	// judged) and runs on: night 11 is not judged twice, the pending run
	// restarts, and the creep opens once, from night 12.
	evs := runDays(e, "efd-1", 12, time.Minute, v, nil)
	for t0 := day0.AddDate(0, 0, 12).Add(-30 * time.Hour); t0.Before(day0.AddDate(0, 0, 17)); t0 = t0.Add(time.Minute) {
		day := int(t0.Sub(day0) / (24 * time.Hour))
		x, _ := v(day, float64(t0.Sub(day0.AddDate(0, 0, day)))/float64(time.Hour))
		evs = append(evs, e.Step(t0, []Poll{{Device: "efd-1", At: t0, OK: true, Readings: []Reading{{Point: "residual_current", Value: x}}}})...)
	}
	if got, want := nights(evs), "open R9 L2 day 12 05:00"; got != want {
		t.Fatalf("clock back\n got  %s\n want %s", got, want)
	}
	// Forward: after night 11 (the first trigger) the clock jumps to 03:00
	// of day 15. The skipped nights are missing data: they neither count
	// nor reset the run; night 15, seen for 2 h of its 3, confirms, and
	// the slope over the nights that have a baseline (9, 10, 11, 15) is
	// 20 mA/day: level 2.
	e = mustEngine(t, "efd-1", specR9)
	jump := func(day int, h float64) (float64, bool) { return v(day, h) }
	evs = runDays(e, "efd-1", 12, time.Minute, jump, nil)
	for t0 := day0.AddDate(0, 0, 15).Add(3 * time.Hour); t0.Before(day0.AddDate(0, 0, 18)); t0 = t0.Add(time.Minute) {
		day := int(t0.Sub(day0) / (24 * time.Hour))
		x, _ := v(day, float64(t0.Sub(day0.AddDate(0, 0, day)))/float64(time.Hour))
		evs = append(evs, e.Step(t0, []Poll{{Device: "efd-1", At: t0, OK: true, Readings: []Reading{{Point: "residual_current", Value: x}}}})...)
	}
	if got, want := nights(evs), "open R9 L2 day 11 05:00"; got != want {
		t.Fatalf("clock forward\n got  %s\n want %s", got, want)
	}
}

func TestR9RestoredEpisodeClearsAfterSevenNights(t *testing.T) {
	e := mustEngine(t, "efd-1", specR9)
	e.Restore([]OpenHazard{{Device: "efd-1", Rule: "R9", TicketID: "efd-1/R9/20261020T210000.000", Level: 2, Since: day0.AddDate(0, 0, -10)}})
	// a restart forgets the baselines: the flat nights judge normal once a
	// slope (4 nights) is had, and 7 of them clear the restored ticket
	evs := runDays(e, "efd-1", 12, time.Minute, daily(1, func(int) float64 { return 120 }), nil)
	if got, want := nights(evs), "clear R9 L2 day 3 05:00"; got != want || evs[0].TicketID != "efd-1/R9/20261020T210000.000" {
		t.Fatalf("events\n got  %s (%s)\n want %s", got, evs[0].TicketID, want)
	}
}

func TestP2Median(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	// The tolerance is 0.5 mA, 2 mA for a night that drifts by 11 mA with
	// little noise and 500 mA spikes: P² trails a trend (its known weakness),
	// still far inside a 15 mA/day slope.
	cases := map[string]struct {
		gen func(i int) float64
		tol float64
	}{
		"normal noise": {func(int) float64 { return 80 + 5*r.NormFloat64() }, 0.5},
		"drift":        {func(i int) float64 { return 80 + float64(i)/1000 + 5*r.NormFloat64() }, 0.5},
		"spikes":       {func(i int) float64 { return 80 + map[bool]float64{true: 500}[i%997 == 0] + r.Float64() }, 0.5},
		"drift and spikes": {func(i int) float64 {
			return 80 + float64(i)/1000 + map[bool]float64{true: 500}[i%997 == 0] + r.Float64()
		}, 2},
		"integer mA": {func(int) float64 { return float64(78 + r.IntN(5)) }, 0.5},
	}
	for name, c := range cases {
		var est p2
		xs := make([]float64, 10800) // a 3 h night of 1 s samples
		for i := range xs {
			xs[i] = c.gen(i)
			est.add(xs[i])
		}
		slices.Sort(xs)
		exact := (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
		got, _ := est.median()
		if math.Abs(got-exact) > c.tol {
			t.Errorf("%s: P² median %.3f, exact %.3f", name, got, exact)
		}
	}
	var small p2
	for _, x := range []float64{5, 1, 3, 2} {
		small.add(x)
	}
	if m, ok := small.median(); !ok || m != 2.5 {
		t.Errorf("median of 4 samples %v, want 2.5", m)
	}
}

// creepBytes is the memory of one point of a creep rule: its state and
// its ring of baselines.
func creepBytes(st *ruleState) int {
	n := 0
	for i := range st.creep {
		n += int(unsafe.Sizeof(st.creep[i])) + cap(st.creep[i].days)*int(unsafe.Sizeof(baseline{}))
	}
	return n / len(st.creep)
}

func TestCreepMemoryIsBounded(t *testing.T) {
	// 30 days of 10 s samples (BenchmarkCreepMemory runs 1 s samples and
	// measures the heap); the state never grows.
	e := mustEngine(t, "efd-1", specR9)
	st := e.find("efd-1", "R9")
	before := creepBytes(st)
	runDays(e, "efd-1", 30, 10*time.Second, daily(1, func(int) float64 { return 80 }), nil)
	after := creepBytes(st)
	if after != before || after >= 4096 {
		t.Fatalf("creep state %d B per point before, %d B after 30 days; want equal and < 4 KiB", before, after)
	}
	if st.creep[0].n != 30 {
		t.Fatalf("%d baselines after 30 nights", st.creep[0].n)
	}
	t.Logf("creep state: %d B per point (ring of %d nights)", after, cap(st.creep[0].days))
}

// fuzzCreepDevices is a leakage point with R9 on short windows (a
// 12-hour night, 3-night slope, 4-night ratio, 2 nights to open and to
// clear), R7 and R21, so that random sequences of hours reach every phase.
func fuzzCreepDevices() []DeviceRules {
	r9 := specR9
	r9.Creep = &Creep{Night: "00:00-12:00", Slope: 15, SlopeDays: 3, Ratio: 1.5, RatioDays: 4, MinBaseline: 100}
	r9.MinSamples, r9.ClearSamples = 2, 2
	r9.Escalate = []Escalation{{Level: 2, CrossDays: 5}, {Level: 1, IfOpen: []string{"R7"}}}
	r7 := specR7
	r7.When = nil
	return []DeviceRules{{Device: "lk", Specs: []Spec{r9, r7, specR21}}}
}

// fuzzCreepPolls turns bytes into polls, two bytes a poll:
//
//	b0 bits0-3 time step in 20 min (0..5 h); bit4 the poll fails;
//	   bits5-6 == 3: the clock steps back 7 h instead; bit7 the setpoint is read
//	b1 residual current 0..510 mA (×2)
func fuzzCreepPolls(data []byte) []Poll {
	var polls []Poll
	now := day0
	for i := 0; i+1 < len(data); i += 2 {
		b0, b1 := data[i], data[i+1]
		if (b0>>5)&3 == 3 {
			now = now.Add(-7 * time.Hour)
		} else {
			now = now.Add(time.Duration(b0&0x0f) * 20 * time.Minute)
		}
		p := Poll{Device: "lk", At: now, OK: b0&0x10 == 0}
		if p.OK {
			p.Readings = []Reading{{Point: "residual_current", Value: float64(b1) * 2}}
			if b0&0x80 != 0 {
				p.Readings = append(p.Readings, Reading{Point: "residual_setpoint", Value: 400})
			}
		}
		polls = append(polls, p)
	}
	return polls
}

func FuzzCreep(f *testing.F) {
	// 20 days of 40-minute polls: flat, then a creep, then back
	seed := []byte{}
	for d := range 20 {
		for range 36 {
			v := byte(40)
			if d >= 6 && d < 12 {
				v = byte(40 + 10*(d-5))
			}
			seed = append(seed, 0x02, v)
		}
	}
	f.Add(seed)
	f.Add([]byte{0x0f, 60, 0x0f, 60, 0x1f, 0, 0x6f, 90, 0x8f, 200, 0x0f, 250})
	f.Fuzz(func(t *testing.T, data []byte) {
		devs := fuzzCreepDevices()
		e, err := NewEngine(devs)
		if err != nil {
			t.Fatal(err)
		}
		c := newStreamChecker(devs)
		for _, p := range fuzzCreepPolls(data) {
			if err := c.batch(e.Step(p.At, []Poll{p})); err != nil {
				t.Fatal(err)
			}
		}
		if got := len(e.Open()); got != len(c.open) {
			t.Fatalf("engine has %d open, the stream %d", got, len(c.open))
		}
		st := e.find("lk", "R9")
		if st.creep[0].n > cap(st.creep[0].days) || cap(st.creep[0].days) != 5 {
			t.Fatalf("baselines %d of %d", st.creep[0].n, cap(st.creep[0].days))
		}
	})
}

func TestR9BaselinesSurviveARestart(t *testing.T) {
	// 12 nights, then a restart: with the baselines handed back, nights 12
	// and 13 open the creep at once (the pending run restarts with the
	// engine); without them, 2 nights are too few for a slope or a ratio.
	v := daily(1, func(d int) float64 { return 60 + 20*float64(max(0, d-9)) })
	e := mustEngine(t, "efd-1", specR9)
	runDays(e, "efd-1", 12, time.Minute, v, nil)
	saved := e.Baselines()
	if len(saved) != 12 || !saved[0].Night.Equal(day0) || saved[0].Point != "residual_current" || math.Abs(saved[11].Value-100) > 1 {
		t.Fatalf("baselines %+v", saved)
	}
	after := func(e *Engine) []Event {
		var evs []Event
		for t0 := day0.AddDate(0, 0, 12); t0.Before(day0.AddDate(0, 0, 14)); t0 = t0.Add(time.Minute) {
			day := int(t0.Sub(day0) / (24 * time.Hour))
			x, _ := v(day, float64(t0.Sub(day0.AddDate(0, 0, day)))/float64(time.Hour))
			evs = append(evs, e.Step(t0, []Poll{{Device: "efd-1", At: t0, OK: true, Readings: []Reading{{Point: "residual_current", Value: x}}}})...)
		}
		return evs
	}
	restarted := mustEngine(t, "efd-1", specR9)
	restarted.RestoreBaselines(append(saved, Baseline{Device: "efd-1", Rule: "R7", Point: "x"}, Baseline{Device: "nope"}))
	if got := restarted.Baselines(); !slices.Equal(got, saved) {
		t.Fatalf("restored %v, want %v", got, saved)
	}
	if got, want := nights(after(restarted)), "open R9 L2 day 12 05:00"; got != want {
		t.Fatalf("with baselines\n got  %s\n want %s", got, want)
	}
	if got := nights(after(mustEngine(t, "efd-1", specR9))); got != "" {
		t.Fatalf("without baselines: %s", got)
	}
}
