package profile

import (
	"fmt"
	"math"
	"regexp"
	"slices"
)

// Param is one site parameter a profile declares (`params:` in the
// profile): a value the installer sets per device in the config's
// devices[].params, such as the rated current of the protected circuit or
// the setpoints the site chose. Rules read parameters through
// threshold_param and not_equals_param; config check refuses a key the
// profile does not declare, a value of the wrong type and one out of Range.
type Param struct {
	Name string `yaml:"name"` // [a-z][a-z0-9_]*, unique in the profile; "rated_current_a"
	Unit string `yaml:"unit"` // "A", "mA", "°C"; "" for a count or a ratio
	// Type is number (default) or integer.
	Type string `yaml:"type"`
	// Range is the closed range [min, max] a configured value must lie in
	// (required): what the device model can be set to, or what is sane.
	Range []float64 `yaml:"range"`
	// Default is the value when the config sets none; nil means the
	// parameter has no value unless configured, and rules that need it are
	// left out (or fall back, see rules.Spec.ThresholdParam) on that device.
	Default *float64 `yaml:"default"`
	Desc    string   `yaml:"desc"`   // what it is (required)
	Source  string   `yaml:"source"` // where the range and default come from (required)
}

// Param types.
const (
	ParamNumber  = "number"
	ParamInteger = "integer"
)

// MaxParamMagnitude bounds every parameter number (range, default and
// configured value): anything larger is a typo or a unit mistake, never a
// setpoint of a fire-safety device.
const MaxParamMagnitude = 1e9

var paramName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Param returns the parameter called name, or nil.
func (p *Profile) Param(name string) *Param {
	for i := range p.Params {
		if p.Params[i].Name == name {
			return &p.Params[i]
		}
	}
	return nil
}

// ParamNames returns the names of the profile's parameters, in file order.
func (p *Profile) ParamNames() []string {
	names := make([]string, len(p.Params))
	for i := range p.Params {
		names[i] = p.Params[i].Name
	}
	return names
}

// Defaults returns the profile's parameters that have a default, by name.
func (p *Profile) Defaults() map[string]float64 {
	m := map[string]float64{}
	for _, pa := range p.Params {
		if pa.Default != nil {
			m[pa.Name] = *pa.Default
		}
	}
	return m
}

// Check returns "" when v is a valid value of the parameter, else what is
// wrong with it ("800 is out of range 1..630 (A)"). NaN, ±Inf and values
// beyond MaxParamMagnitude are refused whatever the range.
func (pa *Param) Check(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Sprintf("%g is not a finite number", v)
	case math.Abs(v) > MaxParamMagnitude:
		return fmt.Sprintf("%g is out of range %s", v, pa.RangeText())
	case pa.Type == ParamInteger && v != math.Trunc(v):
		return fmt.Sprintf("%g is not an integer (%s)", v, pa.RangeText())
	case len(pa.Range) == 2 && (v < pa.Range[0] || v > pa.Range[1]):
		return fmt.Sprintf("%g is out of range %s", v, pa.RangeText())
	}
	return ""
}

// RangeText is "1..630 A", "0..30 s" or "0.05..0.5 dB/m".
func (pa *Param) RangeText() string {
	if len(pa.Range) != 2 {
		return "(no range)"
	}
	s := fmt.Sprintf("%g..%g", pa.Range[0], pa.Range[1])
	if pa.Unit != "" {
		s += " " + pa.Unit
	}
	return s
}

// applyParamDefaults fills in the documented defaults of a parameter.
func (pa *Param) applyDefaults() {
	if pa.Type == "" {
		pa.Type = ParamNumber
	}
}

// checkParams validates the params: section.
func checkParams(ps *problems, p *Profile) {
	seen := map[string]int{}
	for i := range p.Params {
		pa := &p.Params[i]
		at := fmt.Sprintf("params[%d]", i)
		if j, dup := seen[pa.Name]; dup {
			ps.add(at+".name", "%q is also the name of params[%d]", pa.Name, j)
		}
		seen[pa.Name] = i
		if !paramName.MatchString(pa.Name) {
			ps.add(at+".name", "%q must match [a-z][a-z0-9_]* (up to 64)", pa.Name)
		}
		if !slices.Contains([]string{ParamNumber, ParamInteger}, pa.Type) {
			ps.add(at+".type", "%q is not one of number, integer", pa.Type)
		}
		if pa.Desc == "" {
			ps.add(at+".desc", "is required (what the parameter is)")
		}
		if pa.Source == "" {
			ps.add(at+".source", "is required (where its range and default come from)")
		}
		if !checkRange(ps, at, pa) {
			continue
		}
		if pa.Default != nil {
			if msg := pa.Check(*pa.Default); msg != "" {
				ps.add(at+".default", "%s", msg)
			}
		}
	}
}

// checkRange reports a range that is not [min, max] of finite, sane
// numbers with min < max (min = max would be a constant, not a parameter).
func checkRange(ps *problems, at string, pa *Param) bool {
	r := pa.Range
	if len(r) != 2 {
		ps.add(at+".range", "needs [min, max] (every parameter has a bound)")
		return false
	}
	ok := true
	for j, x := range r {
		if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > MaxParamMagnitude {
			ps.add(fmt.Sprintf("%s.range[%d]", at, j), "%g is not a finite number within ±%g", x, float64(MaxParamMagnitude))
			ok = false
		}
	}
	if ok && !(r[0] < r[1]) {
		ps.add(at+".range", "min %g is not below max %g", r[0], r[1])
		return false
	}
	return ok
}
