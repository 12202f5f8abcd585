package rules

import (
	"math"
	"slices"
)

// bitCond is a compiled BitCond: exactly one of its tests is set.
type bitCond struct {
	slot      int // -1 for an all condition
	mask      uint64
	equals    *float64
	notEquals *float64
	param     string // notEquals came from this device parameter: compared with paramTolerance
	in        []float64
	above     *float64
	below     *float64
	all       []bitCond // nil unless an all condition; never nested further
}

// compileBits binds w to d's point slots.
func compileBits(w BitCond, d *device) bitCond {
	c := bitCond{slot: -1, equals: w.Equals, notEquals: w.NotEquals, param: w.NotEqualsParam,
		in: slices.Clone(w.In), above: w.Above, below: w.Below}
	if len(w.All) > 0 {
		c.all = make([]bitCond, len(w.All))
		for i, n := range w.All {
			c.all[i] = compileBits(n, d)
		}
		return c
	}
	c.slot = d.slotOf(w.Point)
	for _, b := range w.Bits {
		c.mask |= 1 << uint(b)
	}
	return c
}

// holds reports whether a one-point condition is true for value v (a good
// value: NaN and ±Inf never get here).
func (c *bitCond) holds(v float64) bool {
	switch {
	case c.equals != nil:
		return v == *c.equals
	case c.notEquals != nil && c.param != "":
		return math.Abs(v-*c.notEquals) > paramTolerance*max(1, math.Abs(*c.notEquals))
	case c.notEquals != nil:
		return v != *c.notEquals
	case c.in != nil:
		return slices.Contains(c.in, v)
	case c.above != nil:
		return v > *c.above
	case c.below != nil:
		return v < *c.below
	}
	return uint64(int64(v))&c.mask != 0
}

// check evaluates c on d's current poll. known is false when a point it
// reads (any nested point of an all condition) is missing from the poll,
// absent or bad: then c neither holds nor fails. slot and v are c's
// evidence: its point, or an all condition's first nested point.
func (c *bitCond) check(d *device) (holds, known bool, slot int, v float64) {
	if c.all == nil {
		v, st := d.now(c.slot)
		return st == good && c.holds(v), st == good, c.slot, v
	}
	holds, slot = true, c.all[0].slot
	for i := range c.all {
		n := &c.all[i]
		x, st := d.now(n.slot)
		if i == 0 {
			v = x
		}
		if st != good {
			return false, false, slot, v
		}
		holds = holds && n.holds(x)
	}
	return holds, true, slot, v
}
