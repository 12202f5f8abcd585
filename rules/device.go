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
// latest value over all polls. Its name and unit are the device's (name,
// unit): a slot is 32 bytes, for sites of 100 000 points.
type slot struct {
	epoch   uint64 // the poll that last wrote cur
	cur     float64
	latest  float64
	curSt   pointState
	latestS pointState
}

// device is the engine's state for one device.
type device struct {
	id    string
	order int // position in Engine.devices
	// confirmListed: the device is in Engine.confirming
	confirmListed bool
	// lay names the first len(lay.names) slots: the points of
	// DeviceRules.Points, shared by every device with the same points.
	lay *layout
	// extra indexes the slots of the points outside lay (a rule's point
	// the profile lacks, a reading of an unknown point), added when first
	// met; extraNames are their names, from slot len(lay.names) on.
	extra      map[string]int
	extraNames []string
	// unitOf holds the units readings carried that differ from the
	// point's declared one (rare: the plan's readings carry the profile's).
	unitOf  map[int]string
	slots   []slot
	units   map[string]string // DeviceRules.Points (shared, read-only)
	epoch   uint64            // current poll
	bad     uint64            // readings taken as bad quality (NaN, ±Inf, Quality Bad)
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

func newDevice(id string, units map[string]string, lay *layout) *device {
	if lay == nil {
		lay = newLayout(nil)
	}
	return &device{id: id, units: units, lay: lay, slots: make([]slot, len(lay.names))}
}

// slotOf returns the slot index of name, adding the point if it is new.
func (d *device) slotOf(name string) int {
	if i := d.lookup(name); i >= 0 {
		return i
	}
	if d.extra == nil {
		d.extra = map[string]int{}
	}
	i := len(d.slots)
	d.slots = append(d.slots, slot{})
	d.extra[name] = i
	d.extraNames = append(d.extraNames, name)
	return i
}

// lookup returns the slot index of name or -1.
func (d *device) lookup(name string) int {
	if i, ok := d.lay.index[name]; ok {
		return i
	}
	if i, ok := d.extra[name]; ok {
		return i
	}
	return -1
}

// name returns the point name of slot i.
func (d *device) name(i int) string {
	if i < len(d.lay.names) {
		return d.lay.names[i]
	}
	return d.extraNames[i-len(d.lay.names)]
}

// declaredUnit is the unit DeviceRules.Points gives slot i's point.
func (d *device) declaredUnit(i int) string {
	if i < len(d.lay.units) {
		return d.lay.units[i]
	}
	return d.units[d.name(i)]
}

// unit returns the unit of slot i: the last one a reading carried, else
// the declared one.
func (d *device) unit(i int) string {
	if u, ok := d.unitOf[i]; ok {
		return u
	}
	return d.declaredUnit(i)
}

// noteUnit keeps the unit a reading of slot i carried ("" keeps the last).
func (d *device) noteUnit(i int, u string) {
	switch {
	case u == "":
	case u == d.declaredUnit(i):
		delete(d.unitOf, i)
	default:
		if d.unitOf == nil {
			d.unitOf = map[int]string{}
		}
		d.unitOf[i] = u
	}
}

// load makes readings the current poll. A bad reading (Quality Bad, NaN
// or ±Inf: a decoder fault) is counted and kept as missing: it neither
// fires nor clears, and the point's latest value stays the last trusted one.
func (d *device) load(rs []Reading) {
	d.epoch++
	prev := -1
	for _, r := range rs {
		i := d.next(prev, r.Point)
		prev = i
		s := &d.slots[i]
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
		d.noteUnit(i, r.Unit)
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
			m[d.name(i)] = nil
			continue
		}
		v := s.latest
		m[d.name(i)] = &v
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
