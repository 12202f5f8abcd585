package configs_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// runProfile runs every shipped rule of a profile, with the device
// parameters params (over the profile's defaults, as gateway/config
// resolves them), on a device polled as the daemon polls it: each point at
// its own interval, at its default value unless values sets it for that
// second. It returns the events and the engine's notes.
func runProfile(t *testing.T, name string, params map[string]float64, seconds, step int,
	values func(sec int) map[string]float64) (events, notes []string) {
	t.Helper()
	set, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := set.Get(name)
	dr := rules.DeviceRules{Device: "d-1", Points: map[string]string{}, Params: p.Defaults()}
	for k, v := range params {
		dr.Params[k] = v
	}
	for i := range p.Rules {
		dr.Specs = append(dr.Specs, decodeStrict(t, &p.Rules[i]))
	}
	for _, pt := range p.Points {
		dr.Points[pt.Name] = pt.Unit
	}
	e, err := rules.NewEngine([]rules.DeviceRules{dr})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range e.Notes() {
		notes = append(notes, n.Rule+" "+n.Note)
	}
	base := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	for s := 0; s < seconds; s += step {
		poll := rules.Poll{Device: "d-1", At: base.Add(time.Duration(s) * time.Second), OK: true}
		vals := values(s)
		for i := range p.Points {
			pt := &p.Points[i]
			if !pt.Readable() || time.Duration(s)*time.Second%p.PollOf(pt) != 0 {
				continue
			}
			v, ok := vals[pt.Name]
			if !ok && pt.Default != nil {
				v = *pt.Default
			}
			poll.Readings = append(poll.Readings, rules.Reading{Point: pt.Name, Value: v, Unit: pt.Unit})
		}
		for _, ev := range e.Step(poll.At, []rules.Poll{poll}) {
			g := fmt.Sprintf("%s %s L%d @%ds", ev.Kind, ev.Rule, ev.Level, ev.At.Sub(base)/time.Second)
			if ev.Kind == rules.Open && ev.Evidence.Value != nil {
				g += fmt.Sprintf(" %s=%g", ev.Evidence.Point, *ev.Evidence.Value)
				if ev.Evidence.Threshold != nil {
					g += fmt.Sprintf("/%g", *ev.Evidence.Threshold)
				}
			}
			events = append(events, g)
		}
	}
	return events, notes
}

func wantEvents(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// A Chint meter on a 100 A circuit: R14 at ≥ 90 A for 10 min, R13 at
// > 100 A for 60 s, level 2 above 105 A for 60 s; both clear when the load
// drops. Without rated_current_a nothing is compiled and 500 A raises
// nothing: no guessed rating.
func TestChintLoadRules(t *testing.T) {
	load := func(s int) map[string]float64 {
		ia := 60.0
		switch {
		case s >= 60 && s < 800:
			ia = 95
		case s >= 800 && s < 900:
			ia = 103
		case s >= 900 && s < 1000:
			ia = 110
		}
		return map[string]float64{"ia": ia}
	}
	got, notes := runProfile(t, "chint-dtsu666", map[string]float64{"rated_current_a": 100}, 2400, 5, load)
	wantEvents(t, "rated 100 A", got,
		"open R14 L4 @60s ia=95/90", "open R13 L3 @800s ia=103/100", "escalate R13 L2 @900s", "clear R13 L2 @1000s", "clear R14 L4 @1000s")
	wantEvents(t, "notes with rated_current_a", notes)

	got, notes = runProfile(t, "chint-dtsu666", nil, 1200, 5, func(int) map[string]float64 { return map[string]float64{"ia": 500} })
	wantEvents(t, "no rated current", got)
	wantEvents(t, "notes without rated_current_a", notes,
		"R13 not compiled: no rated_current_a", "R14 not compiled: no rated_current_a")
}

// An electrical-fire detector set on site to 500 mA / 90 °C / 3 s on a
// 40 A circuit, with those values in params, raises nothing for an hour
// of setpoint reads (every 10 min) — the rated current read back as
// 400 × 0.1 included. Re-set on the device to 300 mA at minute 25, it
// raises R26 from the first read that differs (30 min), confirmed by the
// second; under the profile's defaults the same device raises R26 at once.
func TestElectricalFireSetpoints(t *testing.T) {
	params := map[string]float64{"residual_setpoint_ma": 500, "temp_setpoint_c": 90, "alarm_delay_s": 3, "rated_current_a": 40}
	site := func(s int) map[string]float64 {
		return map[string]float64{"residual_setpoint": 500, "temp_setpoint": 90, "alarm_delay": 3, "rated_current": 400 * 0.1}
	}
	got, _ := runProfile(t, "electrical-fire-1p", params, 3600, 5, site)
	wantEvents(t, "matching setpoints", got)

	reset := func(s int) map[string]float64 {
		v := site(s)
		if s >= 25*60 {
			v["residual_setpoint"] = 300
		}
		return v
	}
	got, _ = runProfile(t, "electrical-fire-1p", params, 3600, 5, reset)
	wantEvents(t, "re-set on the device", got, "open R26 L4 @1800s residual_setpoint=300/500")

	got, _ = runProfile(t, "electrical-fire-1p", nil, 3600, 5, site)
	wantEvents(t, "the profile's defaults", got, "open R26 L4 @0s residual_setpoint=500/300")
}

// A PZEM-004T without rated_current_a: R13 runs on its own power alarm
// (and says so); with it, the current is judged too.
func TestPzemOverload(t *testing.T) {
	alarm := func(s int) map[string]float64 {
		v := map[string]float64{"current": 30}
		if s >= 100 && s < 300 {
			v["power_alarm"] = 65535
		}
		return v
	}
	got, notes := runProfile(t, "peacefair-pzem-004t", nil, 900, 5, alarm)
	wantEvents(t, "power alarm alone", got, "open R13 L3 @100s power_alarm=65535", "clear R13 L3 @300s")
	wantEvents(t, "notes", notes,
		"R13 runs on the device's own flag only (no rated_current_a: no value comparison)", "R14 not compiled: no rated_current_a",
		"R26 not compiled: no power_alarm_threshold_w")

	got, _ = runProfile(t, "peacefair-pzem-004t", map[string]float64{"rated_current_a": 25}, 900, 5,
		func(int) map[string]float64 { return map[string]float64{"current": 30} })
	wantEvents(t, "30 A on a 25 A circuit", got, "open R13 L2 @0s current=30/25", "open R14 L4 @0s current=30/22.5")
}
