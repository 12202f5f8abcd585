package rules

import "fmt"

// band checks an op outside rule: a band with low < high, a hysteresis
// that leaves a clear range inside it, and no single limit.
func (c *specChecker) band() {
	s := c.s
	switch b := s.Band; {
	case b == nil:
		c.add("band", "op outside needs band: {low, high}")
	case !(b.Low < b.High):
		c.add("band", "low %g is not below high %g (an inverted or empty band)", b.Low, b.High)
	case 2*s.Hysteresis >= b.High-b.Low:
		c.add("hysteresis", "%g leaves no clear range inside the band %g..%g", s.Hysteresis, b.Low, b.High)
	}
	for _, f := range []struct {
		set  bool
		name string
	}{{s.Threshold != 0, "threshold"}, {s.ThresholdPoint != "", "threshold_point"}, {s.ThresholdParam != "", "threshold_param"},
		{s.ThresholdFactor != 0, "threshold_factor"}, {s.ThresholdOffset != 0, "threshold_offset"}, {s.HysteresisPct != 0, "hysteresis_pct"}} {
		if f.set {
			c.add(f.name, "is not used with op outside (the band is the limit; use hysteresis)")
		}
	}
	for i, e := range s.Escalate {
		if len(e.IfOpen) == 0 {
			c.add(fmt.Sprintf("escalate[%d]", i), "a value step needs op above or below; use if_open")
		}
	}
}

// rate checks the fields of a rate rule.
func (c *specChecker) rate() {
	s := c.s
	if len(s.Points) == 0 {
		c.add("points", "a rate rule needs at least one point")
	}
	for i, p := range s.Points {
		c.point(fmt.Sprintf("points[%d]", i), p)
	}
	if len(s.Slopes) == 0 {
		c.add("slopes", "a rate rule needs at least one {window, slope}")
	}
	if s.Per < 0 {
		c.add("per", "%s must not be negative", s.Per)
	}
	for i, sc := range s.Slopes {
		f := fmt.Sprintf("slopes[%d]", i)
		if sc.Window <= 0 {
			c.add(f+".window", "%s must be positive", sc.Window)
		}
		if sc.Slope <= 0 {
			c.add(f+".slope", "%g must be positive (a rate of rise)", sc.Slope)
		}
		if sc.Samples != 0 && sc.Samples < 3 {
			c.add(f+".samples", "%d is below 3 (one outlier is left out of each fit)", sc.Samples)
		}
		if s.ClearSlope < 0 || (sc.Slope > 0 && s.ClearSlope > sc.Slope) {
			c.add("clear_slope", "%g is out of range 0..%g (slopes[%d].slope)", s.ClearSlope, sc.Slope, i)
		}
	}
}

// compound checks the groups of a compound rule; that the ids name other
// rules of the device is checked when the device's rules are compiled.
func (c *specChecker) compound() {
	s := c.s
	if len(s.AnyOf) == 0 && len(s.AllOf) == 0 {
		c.add("all_of", "a compound rule needs all_of groups or any_of")
	}
	for i, g := range s.AllOf {
		f := fmt.Sprintf("all_of[%d].any_of", i)
		if len(g.AnyOf) == 0 {
			c.add(f, "a group needs at least one rule id")
		}
		c.ruleIDs(f, g.AnyOf)
	}
	c.ruleIDs("any_of", s.AnyOf)
	if s.Within < 0 {
		c.add("within", "%s must not be negative", s.Within)
	}
}

// creep checks the fields of a creep rule.
func (c *specChecker) creep() {
	s := c.s
	if len(s.Points) == 0 {
		c.add("points", "a creep rule needs at least one point")
	}
	for i, p := range s.Points {
		c.point(fmt.Sprintf("points[%d]", i), p)
	}
	if s.ThresholdPoint != "" {
		c.point("threshold_point", s.ThresholdPoint)
	}
	for _, f := range []struct {
		set  bool
		name string
	}{{s.Op != "", "op"}, {s.ThresholdParam != "", "threshold_param"}, {s.ThresholdFactor != 0, "threshold_factor"}, {s.ThresholdOffset != 0, "threshold_offset"},
		{s.Hysteresis != 0, "hysteresis"}, {s.HysteresisPct != 0, "hysteresis_pct"}, {s.Band != nil, "band"},
		{s.IgnoreBelow != nil, "ignore_below"}} {
		c.unused(TypeCreep, f.set, f.name)
	}
	cr := s.Creep
	if cr == nil {
		c.add("creep", "a creep rule needs creep: {night, slope and/or ratio}")
		return
	}
	if _, _, err := parseNight(cr.Night); err != nil {
		c.add("creep.night", "%v", err)
	}
	if _, err := parseOffset(cr.UTCOffset); err != nil {
		c.add("creep.utc_offset", "%v", err)
	}
	if cr.Slope < 0 {
		c.add("creep.slope", "%g must not be negative", cr.Slope)
	}
	if cr.Ratio != 0 && !(cr.Ratio > 1) {
		c.add("creep.ratio", "%g must be above 1 (tonight's baseline over the median)", cr.Ratio)
	}
	if cr.Slope == 0 && cr.Ratio == 0 {
		c.add("creep", "set slope, ratio or both")
	}
	if cr.MinBaseline < 0 {
		c.add("creep.min_baseline", "%g must not be negative", cr.MinBaseline)
	}
	if cr.SlopeDays != 0 && (cr.SlopeDays < 3 || cr.SlopeDays > maxCreepDays) {
		c.add("creep.slope_days", "%d is out of range 3..%d", cr.SlopeDays, maxCreepDays)
	}
	if cr.RatioDays != 0 && (cr.RatioDays < 3 || cr.RatioDays > maxCreepDays) {
		c.add("creep.ratio_days", "%d is out of range 3..%d", cr.RatioDays, maxCreepDays)
	}
}
