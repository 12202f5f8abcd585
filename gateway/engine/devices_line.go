package engine

import (
	"slices"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/sched"
)

// Measured is what the bus owner measured of a device's line and of its
// polls (sched.Meter): the line's busy share, and the device's achieved
// interval against its planned one.
type Measured struct {
	// Planned is the device's turn: how often its first group (status
	// and alarm words) is meant to be read; 0 when unknown.
	Planned time.Duration
	// Achieved is the mean time between its polls (sched.Meter.Achieved);
	// valid when AchievedOK.
	Achieved   time.Duration
	AchievedOK bool
	// Line is its bus's measured load; valid when LineOK.
	Line   sched.LineStats
	LineOK bool
}

// SetLines gives the devices their planned intervals (by id) and each
// bus's meter (by bus name). Call it before the buses run.
func (ds *Devices) SetLines(planned map[string]time.Duration, meters map[string]*sched.Meter) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	ds.meters = meters
	ds.planned = make([]time.Duration, len(ds.list))
	for i, d := range ds.list {
		ds.planned[i] = planned[d.Config.ID]
	}
}

// Meters are the buses' meters, by bus name, in no order (nil before
// SetLines).
func (ds *Devices) Meters() map[string]*sched.Meter {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	return ds.meters
}

// BusNames are the names of the measured buses, sorted.
func (ds *Devices) BusNames() []string {
	ms := ds.Meters()
	names := make([]string, 0, len(ms))
	for n := range ms {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// measured is device i's Measured at now; ds.mu is held.
func (ds *Devices) measured(i int, now time.Time) Measured {
	var m Measured
	if i < len(ds.planned) {
		m.Planned = ds.planned[i]
	}
	d := ds.list[i]
	if mt := ds.meters[d.Config.Bus]; mt != nil {
		m.Achieved, m.AchievedOK = mt.Achieved(d.Config.ID, now)
		m.Line, m.LineOK = mt.Line(now), true
	}
	return m
}

// PlannedInterval is one device's planned interval (SetLines).
type PlannedInterval struct {
	Bus, Device string
	Interval    time.Duration
}

// Planned lists the devices' planned intervals, in config order (none
// before SetLines).
func (ds *Devices) Planned() []PlannedInterval {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	out := make([]PlannedInterval, 0, len(ds.planned))
	for i, iv := range ds.planned {
		out = append(out, PlannedInterval{Bus: ds.list[i].Config.Bus, Device: ds.list[i].Config.ID, Interval: iv})
	}
	return out
}
