package configs_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// TestSmartMeterPhaseLoss runs every shipped rule of smart-meter-3p and of
// chint-dtsu666 on a meter polled as the daemon polls it: each point at its own interval
// (the status word every second, the voltages every 5 s), all at the
// profile's default values except the voltages of the case. R18a's
// numeric form (one phase < 50 V while the other two are > 180 V, 5 s to
// open, 60 s to clear; DESIGN §8.3) must open and clear alone.
func TestSmartMeterPhaseLoss(t *testing.T) {
	set, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"smart-meter-3p", "chint-dtsu666"} {
		t.Run(name, func(t *testing.T) { phaseLoss(t, set, name) })
	}
}

func phaseLoss(t *testing.T, set *profile.Set, name string) {
	p, _ := set.Get(name)
	dr := rules.DeviceRules{Device: "m-1", Points: map[string]string{}}
	for i := range p.Rules {
		dr.Specs = append(dr.Specs, decodeStrict(t, &p.Rules[i]))
	}
	for _, pt := range p.Points {
		dr.Points[pt.Name] = pt.Unit
	}
	cases := []struct {
		name  string
		phase func(sec int) (ua, ub, uc float64)
		want  []string
	}{
		{"phase B lost from 10 s to 80 s", func(s int) (float64, float64, float64) {
			if s >= 10 && s < 80 {
				return 230, 3, 231
			}
			return 230, 230, 231
		}, []string{"open R18a L2 @10s ub=3", "clear R18a L2 @80s"}},
		{"single-phase wiring", func(int) (float64, float64, float64) { return 230, 0, 0 }, nil},
		{"a dead supply", func(int) (float64, float64, float64) { return 0, 0, 0 }, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := rules.NewEngine([]rules.DeviceRules{dr})
			if err != nil {
				t.Fatal(err)
			}
			base := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
			var got []string
			for s := range 200 {
				poll := rules.Poll{Device: "m-1", At: base.Add(time.Duration(s) * time.Second), OK: true}
				ua, ub, uc := c.phase(s)
				volts := map[string]float64{"ua": ua, "ub": ub, "uc": uc}
				for i := range p.Points {
					pt := &p.Points[i]
					if !pt.Readable() || time.Duration(s)*time.Second%p.PollOf(pt) != 0 {
						continue
					}
					v, ok := volts[pt.Name]
					if !ok && pt.Default != nil {
						v = *pt.Default
					}
					poll.Readings = append(poll.Readings, rules.Reading{Point: pt.Name, Value: v, Unit: pt.Unit})
				}
				for _, ev := range e.Step(poll.At, []rules.Poll{poll}) {
					g := fmt.Sprintf("%s %s L%d @%ds", ev.Kind, ev.Rule, ev.Level, ev.At.Sub(base)/time.Second)
					if ev.Kind == rules.Open {
						g += fmt.Sprintf(" %s=%g", ev.Evidence.Point, *ev.Evidence.Value)
					}
					got = append(got, g)
				}
			}
			if strings.Join(got, ", ") != strings.Join(c.want, ", ") {
				t.Fatalf("events:\n got  %q\n want %q", got, c.want)
			}
		})
	}
}
