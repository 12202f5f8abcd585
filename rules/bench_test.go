package rules

import (
	"fmt"
	"runtime"
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
	polls := benchPolls(devs)
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

// BenchmarkStepGraded is the same tick with the electrical fire
// detector's graded defaults: R7, R8, R10, R11, R12 (rate, 4 channels,
// 10 min and 2 min windows), R13 (escalation), R22 (compound) and R21,
// after 15 min of 1 s polls so that the rate rings are full.
func BenchmarkStepGraded(b *testing.B) {
	r8 := specR7
	r8.ID, r8.Hazard, r8.Level, r8.ThresholdFactor, r8.When = "R8", "residual_current_prealarm", 3, 0.7, nil
	r11 := specR10
	r11.ID, r11.Hazard, r11.Level, r11.ThresholdOffset = "R11", "cable_temp_prealarm", 3, -10
	r12 := specR12
	r12.Escalate = []Escalation{{Level: 1, IfOpen: []string{"R7", "R10", "R13"}}}
	specs := []Spec{specR7, r8, specR10, r11, r12, specR13, specR22, specR21}
	var devs []DeviceRules
	for i := range 20 {
		devs = append(devs, DeviceRules{Device: fmt.Sprintf("efd-%02d", i), Specs: specs})
	}
	e, err := NewEngine(devs)
	if err != nil {
		b.Fatal(err)
	}
	polls := benchPolls(devs)
	tick := func(i int) []Event {
		now := base.Add(time.Duration(i) * time.Second)
		for j := range polls {
			polls[j].At = now
		}
		return e.Step(now, polls)
	}
	for i := range 900 {
		tick(i)
	}
	b.ReportAllocs()
	for i := 900; b.Loop(); i++ {
		if evs := tick(i); len(evs) != 0 {
			b.Fatal(summary(evs))
		}
	}
}

// benchPolls is one full sweep of 12 points of every device.
func benchPolls(devs []DeviceRules) []Poll {
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
	return polls
}

// BenchmarkCreepMemory runs R9 on one point through 30 simulated days of
// 1 s samples (2.6 million polls) and reports the heap it holds: the
// whole engine of that one device (B/engine), the creep state of the point
// by accounting (B/point), and the heap growth from day 1 to day 30
// (B/growth, which must be 0: memory is bounded). Run it with
// -benchtime=1x; each iteration is 30 days.
func BenchmarkCreepMemory(b *testing.B) {
	var m0, m1, m30 runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&m0)
		e, err := NewEngine([]DeviceRules{{Device: "efd-1", Specs: []Spec{specR9}}})
		if err != nil {
			b.Fatal(err)
		}
		leak := daily(1, func(d int) float64 { return 60 + 2*float64(d) })
		runDays(e, "efd-1", 1, time.Second, leak, nil)
		runtime.GC()
		runtime.ReadMemStats(&m1)
		p := Poll{Device: "efd-1", OK: true, Readings: []Reading{{Point: "residual_current"}}}
		in := []Poll{p}
		for t := day0.AddDate(0, 0, 1); t.Before(day0.AddDate(0, 0, 30)); t = t.Add(time.Second) {
			day := int(t.Sub(day0) / (24 * time.Hour))
			in[0].At = t
			in[0].Readings[0].Value, _ = leak(day, float64(t.Sub(day0.AddDate(0, 0, day)))/float64(time.Hour))
			e.Step(t, in)
		}
		runtime.GC()
		runtime.ReadMemStats(&m30)
		b.ReportMetric(float64(m30.HeapAlloc)-float64(m0.HeapAlloc), "B/engine")
		b.ReportMetric(float64(m30.HeapAlloc)-float64(m1.HeapAlloc), "B/growth")
		b.ReportMetric(float64(creepBytes(e.find("efd-1", "R9"))), "B/point")
		runtime.KeepAlive(e)
	}
}
