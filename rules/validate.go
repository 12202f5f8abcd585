package rules

import (
	"cmp"
	"fmt"
	"slices"
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
	TypeRate      = "rate"
	TypeCompound  = "compound"
	TypeCreep     = "creep"
)

var ruleTypes = []string{TypeThreshold, TypeStatus, TypeOffline, TypeRate, TypeCreep, TypeCompound}

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
	c.foreign()
	if s.TestMode != nil {
		c.testMode(*s.TestMode)
	}
	c.byType()
	return c.errs
}

// foreign reports the keys of rate and compound rules on other types.
func (c *specChecker) foreign() {
	s := c.s
	if s.Type != TypeRate {
		c.unused(s.Type, len(s.Slopes) > 0, "slopes")
		c.unused(s.Type, s.Per != 0, "per")
		c.unused(s.Type, s.ClearSlope != 0, "clear_slope")
	}
	if s.Type != TypeCreep {
		c.unused(s.Type, s.Creep != nil, "creep")
	}
	if s.Type != TypeCompound {
		c.unused(s.Type, len(s.AnyOf) > 0, "any_of")
		c.unused(s.Type, len(s.AllOf) > 0, "all_of")
		c.unused(s.Type, s.Within != 0, "within")
	}
}

// byType checks the keys of s's type, and the keys it does not use.
func (c *specChecker) byType() {
	s := c.s
	switch s.Type {
	case TypeThreshold:
		c.threshold()
		c.when(false)
		if s.ClearOnReset && len(s.When) == 0 {
			c.add("clear_on_reset", "needs when: the device's latched bit whose drop is the reset")
		}
		c.debounce()
		c.escalate(true)
		c.unused(TypeThreshold, s.Failures != 0, "failures")
	case TypeStatus:
		c.unused(TypeStatus, s.ClearOnReset, "clear_on_reset (a status rule clears when its bits drop: set clear_samples)")
		c.when(true)
		c.debounce()
		c.escalate(false)
		c.notThreshold(TypeStatus, false)
		c.unused(TypeStatus, s.Failures != 0, "failures")
	case TypeRate:
		c.rate()
		c.debounce()
		c.escalate(true)
		c.notThreshold(TypeRate, true)
		c.unused(TypeRate, len(s.When) > 0, "when")
		c.unused(TypeRate, s.Failures != 0, "failures")
	case TypeCreep:
		c.creep()
		c.debounce()
		c.escalate(false)
		c.unused(TypeCreep, len(s.When) > 0, "when")
		c.unused(TypeCreep, s.Failures != 0, "failures")
	case TypeCompound:
		c.compound()
		c.debounce()
		c.escalate(false)
		c.notThreshold(TypeCompound, false)
		c.unused(TypeCompound, len(s.When) > 0, "when")
		c.unused(TypeCompound, s.Failures != 0, "failures")
	case TypeOffline:
		c.debounce()
		c.notThreshold(TypeOffline, false)
		c.unused(TypeOffline, len(s.When) > 0, "when")
		c.unused(TypeOffline, s.MinSamples != 0, "min_samples")
		c.unused(TypeOffline, len(s.Escalate) > 0, "escalate")
		c.unused(TypeOffline, s.TestMode != nil, "test_mode")
		if s.Failures < 0 {
			c.add("failures", "%d must not be negative", s.Failures)
		}
	}
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
	case TypeThreshold, TypeStatus, TypeOffline, TypeRate, TypeCreep, TypeCompound:
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
	ops := []string{"above", "below", "outside"}
	if s.Op != "" && !slices.Contains(ops, s.Op) {
		c.add("op", "%q is not one of above, below, outside%s", s.Op, hint(s.Op, ops))
	}
	if s.ThresholdPoint != "" {
		c.point("threshold_point", s.ThresholdPoint)
	}
	c.paramName("threshold_param", s.ThresholdParam)
	if s.ThresholdParam != "" && s.ThresholdPoint == "" && s.Threshold != 0 {
		c.add("threshold", "is not used with threshold_param alone: the parameter is the limit, and a device without it has none (add threshold_point for a read-back fallback)")
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
	if s.Op == "outside" {
		c.band()
		return
	}
	if s.Band != nil {
		c.add("band", "is used with op outside only")
	}
	// An above rule whose hysteresis reaches past zero would clear only
	// below 0: a typo (a percentage in hysteresis, or the wrong unit).
	limit := s.Threshold*cmp.Or(s.ThresholdFactor, 1) + s.ThresholdOffset
	if s.Op != "below" && limit > 0 && s.Hysteresis > limit {
		c.add("hysteresis", "%g is larger than the threshold %g: the rule would clear only below %g", s.Hysteresis, limit, limit-s.Hysteresis)
	}
}

// notThreshold reports threshold fields on a rule that does not use them
// (points too, unless hasPoints).
func (c *specChecker) notThreshold(typ string, hasPoints bool) {
	s := c.s
	c.unused(typ, len(s.Points) > 0 && !hasPoints, "points")
	c.unused(typ, s.Op != "", "op")
	c.unused(typ, s.Threshold != 0, "threshold")
	c.unused(typ, s.ThresholdPoint != "", "threshold_point")
	c.unused(typ, s.ThresholdParam != "", "threshold_param")
	c.unused(typ, s.ThresholdFactor != 0, "threshold_factor")
	c.unused(typ, s.ThresholdOffset != 0, "threshold_offset")
	c.unused(typ, s.Hysteresis != 0, "hysteresis")
	c.unused(typ, s.HysteresisPct != 0, "hysteresis_pct")
	c.unused(typ, s.Band != nil, "band")
	c.unused(typ, s.IgnoreBelow != nil, "ignore_below")
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
		c.bitCond(fmt.Sprintf("when[%d]", i), w, false)
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

// escalate checks the grading steps; value says the rule has a value
// that a value step can compare with its limit.
func (c *specChecker) escalate(value bool) {
	s := c.s
	base := s.Level
	if h, ok := LookupHazard(s.Hazard); ok && base == 0 {
		base = h.Level
	}
	for i, e := range s.Escalate {
		f := fmt.Sprintf("escalate[%d]", i)
		switch {
		case e.Level < 1 || e.Level > 4:
			c.add(f+".level", "%d is out of range 1..4", e.Level)
		case base >= 1 && base <= 4 && e.Level >= base:
			c.add(f+".level", "%d is not more urgent than the rule's level %d", e.Level, base)
		}
		isValue := e.ThresholdFactor != 0 || e.ThresholdOffset != 0 || e.For != 0 || e.MinSamples != 0
		kinds := 0
		for _, set := range []bool{isValue, len(e.IfOpen) > 0, e.CrossDays != 0, e.Count != 0} {
			if set {
				kinds++
			}
		}
		switch {
		case kinds > 1:
			c.add(f, "set one of a value step (threshold_factor, threshold_offset, for, min_samples), if_open, cross_days or count")
		case kinds == 0:
			c.add(f, "needs a value step (threshold_factor, threshold_offset, for), if_open, cross_days or count")
		case isValue && !value:
			c.add(f, "a value step needs a rule with a value (threshold); use if_open")
		case e.CrossDays < 0:
			c.add(f+".cross_days", "%g must be positive", e.CrossDays)
		case e.CrossDays > 0 && s.Type != TypeCreep:
			c.add(f+".cross_days", "is used by creep rules only")
		case e.Count != 0 && (e.Count < 2 || e.Count > maxCount):
			c.add(f+".count", "%d is out of range 2..%d", e.Count, maxCount)
		case e.Count != 0 && e.Within <= 0:
			c.add(f+".within", "a count step needs a positive within (count episodes within, e.g. 24h)")
		}
		if e.Within != 0 && e.Count == 0 {
			c.add(f+".within", "is used with count only")
		}
		c.escalateNumbers(f, e)
		c.ruleIDs(f+".if_open", e.IfOpen)
	}
}

func (c *specChecker) escalateNumbers(f string, e Escalation) {
	if e.ThresholdFactor < 0 {
		c.add(f+".threshold_factor", "%g must not be negative", e.ThresholdFactor)
	}
	if e.For < 0 {
		c.add(f+".for", "%s must not be negative", e.For)
	}
	if e.MinSamples < 0 {
		c.add(f+".min_samples", "%d must not be negative", e.MinSamples)
	}
}

// ruleIDs checks a list of rule ids referred to by this rule.
func (c *specChecker) ruleIDs(field string, ids []string) {
	for j, id := range ids {
		switch {
		case strings.TrimSpace(id) == "":
			c.add(fmt.Sprintf("%s[%d]", field, j), "a rule id is required")
		case id == c.s.ID:
			c.add(fmt.Sprintf("%s[%d]", field, j), "%q is this rule itself", id)
		}
	}
}
