package rules

import (
	"fmt"
	"strings"
)

// FieldError is one problem of a Spec. Field is the YAML key path inside
// the rule ("threshold_point", "when[1].bits"); the caller prefixes the
// rule's own path ("devices[2].rules[0].").
type FieldError struct {
	Field string
	Msg   string
}

// Error returns "field: message".
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Rule types accepted in Spec.Type.
const (
	TypeThreshold = "threshold"
	TypeStatus    = "status"
	TypeOffline   = "offline"
)

var ruleTypes = []string{TypeThreshold, TypeStatus, TypeOffline}

// maxBit is the highest bit number a BitCond may test (32-bit words).
const maxBit = 31

// specChecker collects the problems of one Spec.
type specChecker struct {
	s      *Spec
	points func(string) bool
	errs   []error
}

func (c *specChecker) add(field, format string, args ...any) {
	c.errs = append(c.errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
}

// Validate returns every problem of s, each a *FieldError whose message
// starts with the field key, e.g.
//
//	threshold_point: "residual_setpoint2" is not a point of this profile
//	type: "rate" is not one of threshold, status, offline
//	level: 7 is out of range 1..4
//	hazard: "smoke_fire" is unknown (did you mean "smoke_fire_alarm"?)
//
// points says whether a point name exists on the device's profile; with
// points == nil the point names are not checked. Targeting (Devices,
// Profiles) is the config's to check. Validate returns nil for a good Spec.
func (s *Spec) Validate(points func(name string) bool) []error {
	c := &specChecker{s: s, points: points}
	c.identity()
	switch s.Type {
	case TypeThreshold:
		c.threshold()
		c.when(false)
		c.debounce()
		c.unused(TypeThreshold, s.Failures != 0, "failures")
	case TypeStatus:
		c.when(true)
		c.debounce()
		c.notThreshold(TypeStatus)
		c.unused(TypeStatus, s.Failures != 0, "failures")
	case TypeOffline:
		c.debounce()
		c.notThreshold(TypeOffline)
		c.unused(TypeOffline, len(s.When) > 0, "when")
		c.unused(TypeOffline, s.MinSamples != 0, "min_samples")
		if s.Failures < 0 {
			c.add("failures", "%d must not be negative", s.Failures)
		}
	}
	return c.errs
}

// identity checks id, hazard, type and level.
func (c *specChecker) identity() {
	s := c.s
	if strings.TrimSpace(s.ID) == "" {
		c.add("id", "is required")
	}
	switch _, ok := LookupHazard(s.Hazard); {
	case s.Hazard == "":
		c.add("hazard", "is required")
	case !ok:
		c.add("hazard", "%q is unknown%s", s.Hazard, hint(s.Hazard, hazardCodes()))
	}
	switch s.Type {
	case TypeThreshold, TypeStatus, TypeOffline:
	case "":
		c.add("type", "is required (one of %s)", strings.Join(ruleTypes, ", "))
	default:
		c.add("type", "%q is not one of %s%s", s.Type, strings.Join(ruleTypes, ", "), hint(s.Type, ruleTypes))
	}
	if s.Level != 0 && (s.Level < 1 || s.Level > 4) {
		c.add("level", "%d is out of range 1..4", s.Level)
	}
}

// hint is ` (did you mean "x"?)` or "".
func hint(word string, candidates []string) string {
	if s := Suggest(word, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}

// point checks one point reference.
func (c *specChecker) point(field, name string) {
	switch {
	case name == "":
		c.add(field, "a point name is required")
	case c.points != nil && !c.points(name):
		c.add(field, "%q is not a point of this profile", name)
	}
}

// threshold checks the fields of a threshold rule.
func (c *specChecker) threshold() {
	s := c.s
	if len(s.Points) == 0 {
		c.add("points", "a threshold rule needs at least one point")
	}
	for i, p := range s.Points {
		c.point(fmt.Sprintf("points[%d]", i), p)
	}
	if s.Op != "" && s.Op != "above" && s.Op != "below" {
		c.add("op", "%q is not one of above, below%s", s.Op, hint(s.Op, []string{"above", "below"}))
	}
	if s.ThresholdPoint != "" {
		c.point("threshold_point", s.ThresholdPoint)
	}
	if s.ThresholdFactor < 0 {
		c.add("threshold_factor", "%g must not be negative", s.ThresholdFactor)
	}
	if s.Hysteresis < 0 {
		c.add("hysteresis", "%g must not be negative", s.Hysteresis)
	}
	if s.HysteresisPct < 0 || s.HysteresisPct >= 100 {
		c.add("hysteresis_pct", "%g is out of range 0..100", s.HysteresisPct)
	}
	if s.Hysteresis != 0 && s.HysteresisPct != 0 {
		c.add("hysteresis_pct", "set either hysteresis or hysteresis_pct, not both")
	}
}

// notThreshold reports threshold fields on a rule that does not use them.
func (c *specChecker) notThreshold(typ string) {
	s := c.s
	c.unused(typ, len(s.Points) > 0, "points")
	c.unused(typ, s.Op != "", "op")
	c.unused(typ, s.Threshold != 0, "threshold")
	c.unused(typ, s.ThresholdPoint != "", "threshold_point")
	c.unused(typ, s.ThresholdFactor != 0, "threshold_factor")
	c.unused(typ, s.ThresholdOffset != 0, "threshold_offset")
	c.unused(typ, s.Hysteresis != 0, "hysteresis")
	c.unused(typ, s.HysteresisPct != 0, "hysteresis_pct")
}

func (c *specChecker) unused(typ string, set bool, field string) {
	if set {
		c.add(field, "is not used by %s rules", typ)
	}
}

// when checks the bit conditions; required says the rule has no other
// trigger.
func (c *specChecker) when(required bool) {
	if required && len(c.s.When) == 0 {
		c.add("when", "a status rule needs at least one condition")
	}
	for i, w := range c.s.When {
		f := fmt.Sprintf("when[%d]", i)
		c.point(f+".point", w.Point)
		n := 0
		if len(w.Bits) > 0 {
			n++
		}
		if w.Equals != nil {
			n++
		}
		if w.NotEquals != nil {
			n++
		}
		if n != 1 {
			c.add(f, "set exactly one of bits, equals, not_equals")
		}
		for j, b := range w.Bits {
			if b < 0 || b > maxBit {
				c.add(fmt.Sprintf("%s.bits[%d]", f, j), "%d is out of range 0..%d", b, maxBit)
			}
		}
	}
}

// debounce checks the confirm and clear windows.
func (c *specChecker) debounce() {
	s := c.s
	if s.For < 0 {
		c.add("for", "%s must not be negative", s.For)
	}
	if s.ClearFor < 0 {
		c.add("clear_for", "%s must not be negative", s.ClearFor)
	}
	if s.MinSamples < 0 {
		c.add("min_samples", "%d must not be negative", s.MinSamples)
	}
	if s.ClearSamples < 0 {
		c.add("clear_samples", "%d must not be negative", s.ClearSamples)
	}
}
