package rules

import "time"

// Baseline is one night's baseline of one point of a creep rule, as a
// restarted gateway needs it back: without them R9 would wait 4 nights
// for a slope and 7 for a ratio after every restart.
type Baseline struct {
	Device string
	Rule   string
	Point  string
	Night  time.Time // local midnight of the night's day, in the rule's utc_offset
	Value  float64
}

// Baselines returns the nightly baselines every creep rule holds, by
// device, rule, point and night (oldest first). A daemon stores them (a
// few hundred bytes per point) and hands them to [Engine.RestoreBaselines]
// after a restart.
func (e *Engine) Baselines() []Baseline {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Baseline
	for _, d := range e.devices {
		for _, st := range d.rules {
			if st.r.creep == nil {
				continue
			}
			zone := time.FixedZone("", int(st.r.creep.offset))
			for i := range st.creep {
				p := &st.creep[i]
				for k := p.n - 1; k >= 0; k-- {
					b := p.at(k)
					out = append(out, Baseline{Device: d.id, Rule: st.r.id, Point: d.name(st.r.points[i]),
						Night: time.Unix((b.day*secondsPerDay)-st.r.creep.offset, 0).In(zone), Value: b.v})
				}
			}
		}
	}
	return out
}

// RestoreBaselines gives creep rules back their baselines, oldest first
// per point. Entries of unknown devices, rules or points are ignored, and
// so is a night not after the point's newest baseline; the ring keeps
// the latest ones it has room for. Call it before the first Step.
func (e *Engine) RestoreBaselines(bs []Baseline) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, b := range bs {
		st := e.find(b.Device, b.Rule)
		if st == nil || st.r.creep == nil {
			continue
		}
		d := e.byID[b.Device]
		for i, pt := range st.r.points {
			if d.name(pt) == b.Point {
				local := b.Night.Unix() + st.r.creep.offset
				st.creep[i].push(baseline{day: floorDiv(local, secondsPerDay), v: b.Value})
			}
		}
	}
}
