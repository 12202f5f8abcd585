package configs_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// playProfile runs every shipped rule of profile name on a device polled
// as the daemon polls it (each point at its own interval, its default
// value, or 0 without one, unless values overrides it at that second), for seconds, and
// returns "open R8 L3 @0s" lines.
func playProfile(t *testing.T, name string, seconds int, values func(sec int) map[string]float64) []string {
	t.Helper()
	set, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := set.Get(name)
	dr := rules.DeviceRules{Device: "d-1", Points: map[string]string{}}
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
	base := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	var got []string
	for s := range seconds {
		poll := rules.Poll{Device: "d-1", At: base.Add(time.Duration(s) * time.Second), OK: true}
		over := values(s)
		for i := range p.Points {
			pt := &p.Points[i]
			if !pt.Readable() || time.Duration(s)*time.Second%p.PollOf(pt) != 0 {
				continue
			}
			v, ok := over[pt.Name]
			if !ok && pt.Default != nil {
				v = *pt.Default
			}
			poll.Readings = append(poll.Readings, rules.Reading{Point: pt.Name, Value: v, Unit: pt.Unit})
		}
		for _, ev := range e.Step(poll.At, []rules.Poll{poll}) {
			got = append(got, fmt.Sprintf("%s %s L%d @%ds", ev.Kind, ev.Rule, ev.Level, ev.At.Sub(base)/time.Second))
		}
	}
	return got
}

// R8 and R11 ship on arc-fault-1p (it reads residual current and two
// temperatures), R17 on electrical-fire-1p (it reads the voltage).
func TestPreAlarmsWhereThePointsExist(t *testing.T) {
	cases := []struct {
		profile string
		seconds int
		values  func(sec int) map[string]float64
		want    []string
	}{
		{"arc-fault-1p", 200, func(s int) map[string]float64 {
			if s < 100 {
				return map[string]float64{"residual_current": 250}
			}
			return nil
		}, []string{"open R8 L3 @0s"}},
		{"arc-fault-1p", 200, func(s int) map[string]float64 { return map[string]float64{"t1": 62} }, []string{"open R11 L3 @0s"}},
		{"electrical-fire-1p", 1200, func(s int) map[string]float64 { return map[string]float64{"voltage": 238} }, []string{"open R17 L4 @0s"}},
	}
	for _, c := range cases {
		t.Run(c.profile+" "+strings.Join(c.want, ","), func(t *testing.T) {
			got := playProfile(t, c.profile, c.seconds, c.values)
			if !slices.Equal(got, c.want) {
				t.Fatalf("events:\n got  %q\n want %q", got, c.want)
			}
		})
	}
}

// R19 on arc-fault-1p: a reset (the latched arc bit drops) clears at once;
// bursts without the bit clear after 5 min without bursts.
func TestArcFaultProfileClears(t *testing.T) {
	reset := playProfile(t, "arc-fault-1p", 60, func(s int) map[string]float64 {
		if s < 3 {
			return map[string]float64{"arc_halfcycles_1s": 20, "status": 2}
		}
		if s < 20 {
			return map[string]float64{"status": 2}
		}
		return nil
	})
	if want := []string{"open R19 L2 @0s", "clear R19 L2 @20s"}; !slices.Equal(reset, want) {
		t.Errorf("reset: %q, want %q", reset, want)
	}
	quiet := playProfile(t, "arc-fault-1p", 400, func(s int) map[string]float64 {
		if s < 3 {
			return map[string]float64{"arc_halfcycles_1s": 20}
		}
		return nil
	})
	if want := []string{"open R19 L2 @0s", "clear R19 L2 @3s"}; !slices.Equal(quiet, want) {
		t.Errorf("5 min quiet: %q, want %q", quiet, want)
	}
}
