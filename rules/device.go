package rules

import (
	"math"
	"time"
)

// pointState says what one poll (or the device's history) knows of a point.
type pointState uint8

const (
	missing pointState = iota // not in the poll (or never read)
	absent                    // read, equal to an absent sentinel
	good                      // read and trusted
)

// slot is one point of one device: its value in the current poll and its
// latest value over all polls.
type slot struct {
	name    string
	epoch   uint64 // the poll that last wrote cur
	cur     float64
	curSt   pointState
	unit    string
	latest  float64
	latestS pointState
}

// device is the engine's state for one device.
type device struct {
	id      string
	index   map[string]int // point name → slot
	slots   []slot
	units   map[string]string
	epoch   uint64 // current poll
	bad     uint64 // readings taken as bad quality (NaN, ±Inf, Quality Bad)
	rules   []*ruleState
	notes   []ParamNote // rules reduced or left out for want of a parameter
	skipped []string    // ids of the rules left out: references to them are dropped
	lastAt  time.Time   // time of the previous poll
	started bool
	// holdClears: a disabled episode was open when the current poll's
	// rules were stepped; no other episode of the device clears.
	holdClears bool
	// floor is the latest poll time before the clock last stepped back.
	// Event times are kept at or after it, so that the device's events stay
	// in order; it stops mattering once the clock has caught up.
	floor time.Time
}

func newDevice(id string, units map[string]string) *device {
	return &device{id: id, index: map[string]int{}, units: units}
}

// slotOf returns the slot index of name, adding the point if it is new.
func (d *device) slotOf(name string) int {
	if i, ok := d.index[name]; ok {
		return i
	}
	d.slots = append(d.slots, slot{name: name, unit: d.units[name]})
	d.index[name] = len(d.slots) - 1
	return len(d.slots) - 1
}

// lookup returns the slot index of name or -1.
func (d *device) lookup(name string) int {
	if i, ok := d.index[name]; ok {
		return i
	}
	return -1
}

// load makes readings the current poll. A bad reading (Quality Bad, NaN
// or ±Inf: a decoder fault) is counted and kept as missing: it neither
// fires nor clears, and the point's latest value stays the last trusted one.
func (d *device) load(rs []Reading) {
	d.epoch++
	for _, r := range rs {
		s := &d.slots[d.slotOf(r.Point)]
		s.epoch = d.epoch
		if r.Quality == Bad || math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
			s.cur, s.curSt = 0, missing
			d.bad++
			continue
		}
		s.cur = r.Value
		s.curSt = good
		if r.Quality == Absent {
			s.curSt = absent
		}
		if r.Unit != "" {
			s.unit = r.Unit
		}
		s.latest, s.latestS = s.cur, s.curSt
	}
}

// now returns point i's value in the current poll.
func (d *device) now(i int) (float64, pointState) {
	if i < 0 {
		return 0, missing
	}
	s := &d.slots[i]
	if s.epoch != d.epoch {
		return 0, missing
	}
	return s.cur, s.curSt
}

// latestGood returns the latest good value of point i over all polls.
func (d *device) latestGood(i int) (float64, bool) {
	if i < 0 || d.slots[i].latestS != good {
		return 0, false
	}
	return d.slots[i].latest, true
}

// snapshot returns the latest values of every point read so far except
// skip (absent points map to nil), or nil when there is none.
func (d *device) snapshot(skip int) map[string]*float64 {
	var m map[string]*float64
	for i := range d.slots {
		s := &d.slots[i]
		if i == skip || s.latestS == missing {
			continue
		}
		if m == nil {
			m = make(map[string]*float64, len(d.slots))
		}
		if s.latestS == absent {
			m[s.name] = nil
			continue
		}
		v := s.latest
		m[s.name] = &v
	}
	return m
}

// offline reports whether an offline rule of the device is firing.
func (d *device) offline() bool {
	for _, st := range d.rules {
		if st.r.offline && st.firing {
			return true
		}
	}
	return false
}

// restartRuns forgets every pending open and clear run of the device's
// rules (except skip, which may be nil); open episodes stay open.
func (d *device) restartRuns(skip *ruleState) {
	for _, st := range d.rules {
		if st != skip {
			st.resetRuns()
		}
	}
}
