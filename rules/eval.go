package rules

import "math"

// class is what one poll says about a rule's condition.
type class uint8

const (
	// unknown: missing data (a failed poll, a missing or absent point).
	// It neither advances nor resets a run: missing data never clears.
	unknown class = iota
	// trigger: the condition holds.
	trigger
	// band: past the clear level but short of the limit (the hysteresis
	// band). It resets both the open run and the clear run.
	band
	// normal: past the clear level (or every bit condition false).
	normal
)

// observation is the outcome of one rule on one poll.
type observation struct {
	class    class
	byValue  bool // a value, not a bit condition, reached the limit
	point    int  // evidence slot, -1 if none
	value    float64
	limit    float64
	hasLimit bool
	slope    float64 // creep: the baseline's slope per day
	hasSlope bool
}

// evalStatus evaluates the bit conditions alone.
func evalStatus(st *ruleState, d *device) observation {
	return evalWhen(st.r.when, d)
}

// evalWhen is trigger when any condition holds, normal when every
// condition is known (its points read and good) and none holds, unknown
// otherwise. The evidence is the first condition that holds (or the first
// known one).
func evalWhen(when []bitCond, d *device) observation {
	ob := observation{class: normal, point: -1}
	for i := range when {
		holds, known, slot, v := when[i].check(d)
		if !known {
			ob.class = unknown
			continue
		}
		if holds {
			ob := observation{class: trigger, point: slot, value: v}
			if c := &when[i]; c.param != "" {
				ob.limit, ob.hasLimit = *c.notEquals, true // R26: the configured value, as evidence
			}
			return ob
		}
		if ob.point < 0 {
			ob.point, ob.value = slot, v
		}
	}
	return ob
}

// evalThreshold compares the largest (op above) or smallest (op below)
// good value of the rule's points with the limit (op outside: the value
// farthest outside the band with its nearer edge), then ORs the bit
// conditions. Absent and ignored points are left out; a missing point
// makes a non-triggering value unknown, since the missing one might
// trigger.
func evalThreshold(st *ruleState, d *device) observation {
	r := st.r
	limit, hyst, ok := r.limitOf(d)
	if !ok { // no setpoint to compare with: the value neither fires nor clears
		return r.withBits(observation{class: unknown, point: -1}, d)
	}
	ob, excess := r.extreme(d, limit)
	ob.limit, ob.hasLimit = limit, true
	if r.band != nil {
		limit = r.band[1]
		if ob.value < r.band[0] {
			limit = r.band[0]
		}
		ob.limit = limit
	}
	if ob.point >= 0 {
		switch {
		case excess > 0 || (excess == 0 && r.band == nil):
			ob.class, ob.byValue = trigger, true
		case ob.class == unknown:
		case excess < -hyst:
			ob.class = normal
		default:
			ob.class = band
		}
	}
	return r.withBits(ob, d)
}

// excess is how far v is past the limit in the rule's direction: v −
// limit (above), limit − v (below), the distance outside the band
// (outside; negative inside, the distance to the nearer edge).
func (r *rule) excess(v, limit float64) float64 {
	if r.band != nil {
		return max(r.band[0]-v, v-r.band[1])
	}
	return r.sign * (v - limit)
}

// extreme finds the point whose value is farthest past the limit, and by
// how much. Its class is normal when every point was read (good, absent or
// ignored) and at least one is good, unknown otherwise.
func (r *rule) extreme(d *device, limit float64) (observation, float64) {
	ob := observation{class: normal, point: -1}
	best := math.Inf(-1)
	for _, p := range r.points {
		v, st := d.now(p)
		switch {
		case st == missing:
			ob.class = unknown
		case st == good && !(r.ignoreBelow != nil && v <= *r.ignoreBelow):
			if e := r.excess(v, limit); e > best || ob.point < 0 {
				best, ob.point, ob.value = e, p, v
			}
		}
	}
	if ob.point < 0 {
		ob.class = unknown
	}
	return ob, best
}

// withBits combines a value observation with the rule's bit conditions.
func (r *rule) withBits(ob observation, d *device) observation {
	if len(r.when) == 0 || ob.class == trigger {
		return ob
	}
	bits := evalWhen(r.when, d)
	switch {
	case bits.class == trigger:
		return bits // the evidence is the bit's point; the limit does not apply
	case bits.class == unknown:
		ob.class = unknown
	}
	return ob
}
