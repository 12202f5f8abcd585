package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// validateDeviceParams checks devices[i].params against the params: its
// profile declares: every key must be one of them (did-you-mean), every
// value a finite number of the parameter's type inside its range.
func (c *Config) validateDeviceParams(p *problems, at string, d Device) {
	pr, ok := c.profileNamed(d.Profile)
	if !ok || len(d.Params) == 0 {
		return // an unknown profile is reported on its own
	}
	keys := make([]string, 0, len(d.Params))
	for k := range d.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		path := at + ".params." + k
		pa := pr.Param(k)
		if pa == nil {
			p.add(path, "unknown parameter of profile %s%s", pr.Name, knownParams(k, pr))
			continue
		}
		v, ok := paramNumber(d.Params[k])
		if !ok {
			p.add(path, "%s is not a number (%s)", showParam(d.Params[k]), describeParam(pa))
			continue
		}
		if msg := pa.Check(v); msg != "" {
			p.add(path, "%s", msg)
		}
	}
}

// knownParams is the did-you-mean hint, else the profile's parameters.
func knownParams(key string, pr *profile.Profile) string {
	names := pr.ParamNames()
	if h := hint(key, names); h != "" {
		return h
	}
	if len(names) == 0 {
		return " (it declares none)"
	}
	return " (its parameters: " + strings.Join(names, ", ") + ")"
}

// describeParam is "A, 1..630" or "integer, s, 0..30".
func describeParam(pa *profile.Param) string {
	s := pa.RangeText()
	if pa.Type == profile.ParamInteger {
		s = "an integer, " + s
	}
	return s
}

// paramNumber accepts the numbers YAML produces; strings (even "63"),
// booleans, lists, mappings and an empty value are not parameter values.
func paramNumber(raw any) (float64, bool) {
	switch x := raw.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func showParam(raw any) string {
	if raw == nil {
		return "an empty value"
	}
	return show(raw)
}

// paramValues is a device's parameter values: the profile's defaults,
// overridden by the configured ones (only valid ones: Load refuses a config
// with others).
func paramValues(pr *profile.Profile, d Device) map[string]float64 {
	m := pr.Defaults()
	for k, raw := range d.Params {
		pa := pr.Param(k)
		if v, ok := paramNumber(raw); ok && pa != nil && pa.Check(v) == "" {
			m[k] = v
		}
	}
	return m
}

// checkRuleParams requires every parameter a config rule refers to to be
// declared by each profile the rule applies to.
func checkRuleParams(p *problems, at string, r rules.Spec, profs []*profile.Profile) {
	for _, ref := range r.ParamRefs() {
		var without []string
		for _, pr := range profs {
			if pr.Param(ref.Name) == nil {
				without = append(without, pr.Name)
			}
		}
		if len(without) > 0 {
			var names []string
			for _, pr := range profs {
				names = append(names, pr.ParamNames()...)
			}
			p.add(at+"."+ref.Field, "%q is not a parameter of profile %s%s", ref.Name, strings.Join(without, ", "), hint(ref.Name, names))
		}
	}
}

// ParamNotes lists the rules that are left out, or run reduced, on a
// device for want of a parameter value (no rated_current_a: no R13/R14 on
// a meter), in device order. `config check --print` shows them; the daemon
// logs them at start. Nil when the rules cannot be resolved.
func (c *Config) ParamNotes() []rules.ParamNote {
	if c.profiles == nil {
		return nil
	}
	sets, err := c.DeviceRules(c.profiles)
	if err != nil {
		return nil
	}
	var out []rules.ParamNote
	notes := make(map[int][]rules.ParamNote) // by the index of the first of twins
	for i, f := range twins(sets) {
		ns, ok := notes[f]
		if !ok {
			if eng, err := compileSet(sets[f]); err == nil {
				ns = eng.Notes()
			}
			notes[f] = ns
		}
		for _, n := range ns {
			n.Device = sets[i].Device
			out = append(out, n)
		}
	}
	return out
}

// printParamNotes writes the notes as YAML comments.
func printParamNotes(b *strings.Builder, notes []rules.ParamNote) {
	if len(notes) == 0 {
		return
	}
	b.WriteString("# rules left out or reduced for want of a device parameter (set it in devices[].params):\n")
	for _, n := range notes {
		fmt.Fprintf(b, "#   %s: %s %s\n", n.Device, n.Rule, n.Note)
	}
}
