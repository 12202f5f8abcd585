package sched

import (
	"context"
	"fmt"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
)

// runPaced polls n electrical-fire detectors on the paced 9600-baud line
// (shed_test.go) for run of fake time with a Meter, and returns the
// meter and the planned load of the line (0..).
func runPaced(t *testing.T, n int, run time.Duration) (*Meter, []string, float64) {
	line := efdLine(t)
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	var ids []string
	bus := Bus{Name: "paced"}
	for i := range n {
		ids = append(ids, fmt.Sprintf("efd-%02d", i+1))
		bus.Devices = append(bus.Devices, line.device(ids[i], start))
	}
	bus.Meter = NewMeter(ids, start)
	var load float64
	for g, ws := range line.wire {
		for _, w := range ws {
			load += float64(n) * float64(w) / float64(time.Second*time.Duration(bus.Devices[0].Every[g]))
		}
	}
	out := make(chan rules.Poll, 1<<16)
	done := make(chan error)
	go func() { done <- Run(ctx, bus, out) }()
	time.Sleep(run)
	cancel()
	<-done
	return bus.Meter, ids, load
}

// A line with room to spare is measured busy for its planned load, and
// each device polled at its interval.
func TestMeterLightLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, ids, load := runPaced(t, 6, 150*time.Second)
		now := time.Now()
		st := m.Line(now)
		if math.Abs(st.Utilisation-load) > 0.02 || st.Window < MeterWindow || st.Window > 2*MeterWindow {
			t.Errorf("utilisation %.3f over %v, planned load %.3f", st.Utilisation, st.Window, load)
		}
		if want := 150 * time.Second * time.Duration(1000*load) / 1000; st.Busy < want*98/100 || st.Busy > want*102/100 {
			t.Errorf("busy %v in 150 s, want about %v", st.Busy, want)
		}
		for _, id := range ids {
			iv, ok := m.Achieved(id, now)
			if !ok || iv < 990*time.Millisecond || iv > 1010*time.Millisecond {
				t.Errorf("%s: achieved %v (%v), want 1 s", id, iv, ok)
			}
		}
		t.Logf("planned %.1f%%, measured %.1f%% over %v", 100*load, 100*st.Utilisation, st.Window)
	})
}

// An overloaded line is measured (nearly) always busy; the scheduler
// sheds the slow groups, so the status words still come about every second.
func TestMeterOverloadedLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, ids, load := runPaced(t, 24, 150*time.Second)
		now := time.Now()
		if st := m.Line(now); load < 1.05 || st.Utilisation < 0.97 {
			t.Errorf("planned %.0f%%: utilisation %.3f, want about 1", 100*load, st.Utilisation)
		}
		for _, id := range ids {
			if iv, ok := m.Achieved(id, now); !ok || iv > 1050*time.Millisecond || iv < 950*time.Millisecond {
				t.Errorf("%s: achieved %v (%v), want about 1 s", id, iv, ok)
			}
		}
	})
}

// A device's achieved interval: unknown before its second poll, the mean
// between polls, and at least the time since the last one once it stops.
func TestMeterAchievedInterval(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	m := NewMeter([]string{"a"}, t0)
	if _, ok := m.Achieved("a", at(1)); ok {
		t.Error("an interval before any poll")
	}
	m.notePoll("a", at(0.5))
	if _, ok := m.Achieved("a", at(1)); ok {
		t.Error("an interval after one poll")
	}
	for i := 1; i <= 100; i++ { // every 2 s until 200.5 s
		m.notePoll("a", at(0.5+2*float64(i)))
	}
	if iv, ok := m.Achieved("a", at(201)); !ok || iv != 2*time.Second {
		t.Errorf("achieved %v (%v), want 2s", iv, ok)
	}
	if iv, ok := m.Achieved("a", at(230.5)); !ok || iv != 30*time.Second {
		t.Errorf("30 s after the last poll: %v (%v), want 30s", iv, ok)
	}
	if _, ok := m.Achieved("b", at(201)); ok {
		t.Error("an interval for an unknown device")
	}
	if st := m.Line(at(230.5)); st.Utilisation != 0 || st.Busy != 0 {
		t.Errorf("no busy time noted: %+v", st)
	}
}
