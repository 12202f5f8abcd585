package rules

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Device parameters (devices[].params) reach the rules through two keys:
// a threshold rule's threshold_param (the limit) and a condition's
// not_equals_param (R26: a read-back setpoint against the configured one).
// Both are resolved when the engine is built, from DeviceRules.Params;
// nothing about them is looked up while stepping.

// paramTolerance is the relative tolerance of a not_equals_param
// comparison: a setpoint read back through a scale (630 × 0.1 =
// 63.00000000000001) or from a float32 register (0.15 → 0.150000006) is
// equal to its configured value; a real change of a setpoint is far larger.
const paramTolerance = 1e-6

var paramNameRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// paramName checks the syntax of a parameter reference; that the profile
// declares it is checked where the profile is known (drivers/profile,
// gateway/config).
func (c *specChecker) paramName(field, name string) {
	if name != "" && !paramNameRe.MatchString(name) {
		c.add(field, "%q is not a parameter name ([a-z][a-z0-9_]*)", name)
	}
}

// ParamRef is one reference of a Spec to a device parameter.
type ParamRef struct {
	Field string // "threshold_param", "when[2].not_equals_param"
	Name  string // "rated_current_a"
}

// ParamRefs lists the device parameters s refers to, in field order.
func (s *Spec) ParamRefs() []ParamRef {
	var refs []ParamRef
	if s.ThresholdParam != "" {
		refs = append(refs, ParamRef{"threshold_param", s.ThresholdParam})
	}
	for i, w := range s.When {
		if w.NotEqualsParam != "" {
			refs = append(refs, ParamRef{fmt.Sprintf("when[%d].not_equals_param", i), w.NotEqualsParam})
		}
	}
	return refs
}

// ParamNote says what a rule lost on a device for want of a parameter
// value: it is not compiled (Compiled false), or a threshold rule runs on
// its device flag alone (Compiled true). A rule that only lost some of its
// conditions (R26 without an optional setpoint) runs without a note.
type ParamNote struct {
	Device   string
	Rule     string
	Compiled bool
	Missing  []string // the parameters without a value, sorted
	Note     string   // "not compiled: no rated_current_a"
}

// String is `device "chint-1": R13 not compiled: no rated_current_a`.
func (n ParamNote) String() string {
	return fmt.Sprintf("device %q: %s %s", n.Device, n.Rule, n.Note)
}

// resolveParams returns s with its parameter references bound to params,
// and a note when the device lacks a value (ok false: the rule is not
// compiled). s must be valid.
func resolveParams(s Spec, params map[string]float64) (out Spec, note *ParamNote, ok bool, err error) {
	refs := s.ParamRefs()
	if len(refs) == 0 {
		return s, nil, true, nil
	}
	var missing []string
	miss := func(name string) {
		if !slices.Contains(missing, name) {
			missing = append(missing, name)
		}
	}
	out = s
	out.When = nil
	for _, w := range s.When {
		if w.NotEqualsParam != "" {
			v, have := params[w.NotEqualsParam]
			if !have {
				miss(w.NotEqualsParam)
				continue // left out on this device
			}
			w.NotEquals = &v
		}
		out.When = append(out.When, w)
	}
	degraded := false
	if s.ThresholdParam != "" {
		v, have := params[s.ThresholdParam]
		switch {
		case have:
			out.Threshold, out.ThresholdPoint = v, "" // the site's value is the limit
			if err := bindHysteresis(&out); err != nil {
				return out, nil, false, err
			}
		case s.ThresholdPoint != "":
			// the device's own setpoint, read back: quietly, as without params
		default:
			miss(s.ThresholdParam)
			degraded = true
		}
	}
	if len(missing) == 0 || (!degraded && (len(out.When) > 0 || s.Type != TypeStatus)) {
		// At most some conditions of an optional parameter were left out
		// (R26 without alarm_delay_s): the rule runs, and says nothing.
		return out, nil, true, nil
	}
	sort.Strings(missing)
	n := &ParamNote{Rule: s.ID, Missing: missing}
	no := "no " + strings.Join(missing, ", ")
	if degraded && len(out.When) > 0 {
		n.Compiled, n.Note = true, fmt.Sprintf("runs on the device's own flag only (%s: no value comparison)", no)
		return flagOnly(out), n, true, nil
	}
	n.Note = "not compiled: " + no
	return out, n, false, nil
}

// bindHysteresis refuses an absolute hysteresis that reaches past zero
// once the parameter is bound: Validate checks this for a constant
// threshold, and a parameter is a threshold known only now.
func bindHysteresis(s *Spec) error {
	limit := s.Threshold*cmp.Or(s.ThresholdFactor, 1) + s.ThresholdOffset
	if s.Op != "below" && limit > 0 && s.Hysteresis > limit {
		return &FieldError{Field: "hysteresis", Msg: fmt.Sprintf("%g is larger than the limit %g (params.%s): the rule would clear only below %g",
			s.Hysteresis, limit, s.ThresholdParam, limit-s.Hysteresis)}
	}
	return nil
}

// flagOnly turns a threshold rule whose limit has no value into a status
// rule on its When conditions: the value comparison, its hysteresis and its
// value escalation steps go.
func flagOnly(s Spec) Spec {
	s.Type = TypeStatus
	s.Points, s.Op, s.Band, s.IgnoreBelow = nil, "", nil, nil
	s.Threshold, s.ThresholdPoint, s.ThresholdParam = 0, "", ""
	s.ThresholdFactor, s.ThresholdOffset, s.Hysteresis, s.HysteresisPct = 0, 0, 0, 0
	var steps []Escalation
	for _, e := range s.Escalate {
		if len(e.IfOpen) > 0 || e.Count > 0 {
			steps = append(steps, e)
		}
	}
	s.Escalate = steps
	return s
}

// checkParamValues refuses a parameter value that is NaN or infinite (a
// caller that skipped config validation).
func checkParamValues(device string, params map[string]float64) []error {
	var errs []error
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if v := params[k]; math.IsNaN(v) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("device %q: params.%s: %g is not a finite number", device, k, v))
		}
	}
	return errs
}

// Notes lists, by device (NewEngine order) and rule (spec order), the
// rules that were left out or run reduced for want of a device parameter
// value. `config check --print` and the daemon's start-up log show them.
func (e *Engine) Notes() []ParamNote {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []ParamNote
	for _, d := range e.devices {
		out = append(out, d.notes...)
	}
	return out
}
