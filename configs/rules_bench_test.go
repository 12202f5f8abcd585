package configs_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// BenchmarkDefaultRulesSite is one tick of a site of 200 points with the
// shipped default rules: devices of the four generic profiles in turn
// (smoke detector, electrical fire detector, three-phase meter, arc-fault
// detector) until they have at least 200 readable points, each polled with
// all its points at the simulator's default values (measured ones ±1 %), after 15
// simulated minutes of 1 s ticks so that rate rings are full and every
// rule is in its steady state. ns/reading is ns/op over the readings of a
// tick; allocs/op is the whole tick.
func BenchmarkDefaultRulesSite(b *testing.B) {
	set, err := profile.Load("")
	if err != nil {
		b.Fatal(err)
	}
	var devs []rules.DeviceRules
	var polls []rules.Poll
	var analog [][]bool // per poll and reading: a measured value, which wobbles
	readings := 0
	kinds := []string{"smoke-detector", "electrical-fire-1p", "smart-meter-3p", "arc-fault-1p"}
	for i := 0; readings < 200; i++ {
		p, _ := set.Get(kinds[i%len(kinds)])
		dr := rules.DeviceRules{Device: fmt.Sprintf("%s-%02d", p.Name, i), Points: map[string]string{}}
		poll := rules.Poll{Device: dr.Device, OK: true}
		var an []bool
		for _, pt := range p.Points {
			if !pt.Readable() {
				continue
			}
			dr.Points[pt.Name] = pt.Unit
			v := 0.0
			if pt.Default != nil {
				v = *pt.Default
			}
			poll.Readings = append(poll.Readings, rules.Reading{Point: pt.Name, Value: v, Unit: pt.Unit})
			an = append(an, pt.Unit != "" && pt.Access != "rw")
			readings++
		}
		for j := range p.Rules {
			dr.Specs = append(dr.Specs, decodeStrict(b, &p.Rules[j]))
		}
		devs, polls, analog = append(devs, dr), append(polls, poll), append(analog, an)
	}
	e, err := rules.NewEngine(devs)
	if err != nil {
		b.Fatal(err)
	}
	base := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	tick := func(i int) []rules.Event {
		now := base.Add(time.Duration(i) * time.Second)
		wobble := 1 + 0.01*float64(i%3-1)
		for j := range polls {
			polls[j].At = now
			for k := range polls[j].Readings {
				if analog[j][k] { // measured values wobble; bit words and setpoints stay
					r := &polls[j].Readings[k]
					r.Value = r.Value / wobbleOf(i-1) * wobble
				}
			}
		}
		return e.Step(now, polls)
	}
	for i := range 900 {
		tick(i)
	}
	b.ReportAllocs()
	i := 900
	for b.Loop() {
		if evs := tick(i); len(evs) > 0 {
			b.Fatalf("tick %d: %d events in the steady state, e.g. %s %s %s", i, len(evs), evs[0].Kind, evs[0].Device, evs[0].Rule)
		}
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(readings), "ns/reading")
	b.ReportMetric(float64(len(devs)), "devices")
	b.ReportMetric(float64(readings), "readings")
}

// wobbleOf is the factor tick i applied (1 before the first).
func wobbleOf(i int) float64 {
	if i < 0 {
		return 1
	}
	return 1 + 0.01*float64(i%3-1)
}
