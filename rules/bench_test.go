package rules

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkStep is one gateway tick: 20 electrical fire detectors with
// R7, R10 and R21, each with a full sweep of 12 points.
func BenchmarkStep(b *testing.B) {
	var devs []DeviceRules
	for i := range 20 {
		devs = append(devs, DeviceRules{Device: fmt.Sprintf("efd-%02d", i), Specs: []Spec{specR7, specR10, specR21}})
	}
	e, err := NewEngine(devs)
	if err != nil {
		b.Fatal(err)
	}
	points := []string{"residual_current", "t1", "t2", "t3", "t4", "alarm_flags", "wiring_fault", "voltage", "current", "residual_setpoint", "temp_setpoint", "pf"}
	polls := make([]Poll, len(devs))
	for i := range polls {
		polls[i] = Poll{Device: devs[i].Device, OK: true}
		for j, p := range points {
			v := float64(10 + j)
			switch p {
			case "alarm_flags", "wiring_fault":
				v = 0
			case "residual_setpoint":
				v = 300
			}
			polls[i].Readings = append(polls[i].Readings, Reading{Point: p, Value: v})
		}
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
