package rules

import (
	"fmt"
	"math"
)

// condKeys names the keys of a condition, exactly one of which is set.
const condKeys = "bits, equals, not_equals, not_equals_param, in, above, below, all"

// bitCond checks one condition at field f ("when[0]", "when[0].all[1]");
// nested says it is inside an all, which may not nest again.
func (c *specChecker) bitCond(f string, w BitCond, nested bool) {
	if w.Any != nil {
		c.add(f+".any", "is used in test_mode only (the conditions of a when list are already any-of)")
		return
	}
	if w.All == nil {
		c.point(f+".point", w.Point)
	}
	n := 0
	for _, set := range []bool{len(w.Bits) > 0, w.Equals != nil, w.NotEquals != nil, w.NotEqualsParam != "", w.In != nil,
		w.Above != nil, w.Below != nil, w.All != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		c.add(f, "set exactly one of %s", condKeys)
	}
	if w.All != nil {
		c.allCond(f, w, nested)
		return
	}
	switch {
	case w.NotEqualsParam != "" && nested:
		c.add(f+".not_equals_param", "is not used inside all (a condition left out for want of its parameter would change the all)")
	default:
		c.paramName(f+".not_equals_param", w.NotEqualsParam)
	}
	for j, b := range w.Bits {
		if b < 0 || b > maxBit {
			c.add(fmt.Sprintf("%s.bits[%d]", f, j), "%d is out of range 0..%d", b, maxBit)
		}
	}
	c.finite(f+".equals", w.Equals)
	c.finite(f+".not_equals", w.NotEquals)
	c.finite(f+".above", w.Above)
	c.finite(f+".below", w.Below)
	if w.In != nil && len(w.In) == 0 {
		c.add(f+".in", "needs at least one value")
	}
	for j := range w.In {
		c.finite(fmt.Sprintf("%s.in[%d]", f, j), &w.In[j])
	}
}

// allCond checks an all condition: no point of its own, at least one
// nested condition, one level of nesting only.
func (c *specChecker) allCond(f string, w BitCond, nested bool) {
	switch {
	case nested:
		c.add(f+".all", "conditions nest one level only: list these conditions in the outer all")
		return
	case len(w.All) == 0:
		c.add(f+".all", "needs at least one condition")
	}
	if w.Point != "" {
		c.add(f+".point", "is not used with all (each nested condition names its point)")
	}
	for j, n := range w.All {
		c.bitCond(fmt.Sprintf("%s.all[%d]", f, j), n, true)
	}
}

// finite reports a NaN or infinite comparison value: no reading ever
// equals NaN, and a bad reading never reaches a comparison.
func (c *specChecker) finite(f string, x *float64) {
	if x != nil && (math.IsNaN(*x) || math.IsInf(*x, 0)) {
		c.add(f, "%g is not a finite number", *x)
	}
}

// testMode checks a rule's test-mode condition: one point's condition,
// judged on that point's latest value, or an any list of them.
func (c *specChecker) testMode(w BitCond) {
	if w.All != nil {
		c.add("test_mode.all", "is not used in test_mode (test mode is one point's condition, or any of several)")
		return
	}
	if w.NotEqualsParam != "" {
		c.add("test_mode.not_equals_param", "is not used in test_mode")
		return
	}
	if w.Any == nil {
		c.bitCond("test_mode", w, false)
		return
	}
	if len(w.Any) == 0 {
		c.add("test_mode.any", "needs at least one condition")
	}
	if w.Point != "" || len(w.Bits) > 0 || w.Equals != nil || w.NotEquals != nil || w.In != nil || w.Above != nil || w.Below != nil {
		c.add("test_mode", "set either any or one condition, not both")
	}
	for j, n := range w.Any {
		f := fmt.Sprintf("test_mode.any[%d]", j)
		switch {
		case n.All != nil:
			c.add(f+".all", "is not used in test_mode (each item is one point's condition)")
		case n.Any != nil:
			c.add(f+".any", "conditions nest one level only")
		default:
			c.bitCond(f, n, true)
		}
	}
}
