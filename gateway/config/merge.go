package config

import (
	"fmt"
	"slices"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// DeviceRuleSet is the effective rule list of one device.
type DeviceRuleSet struct {
	Device  string       // Device.ID
	Profile string       // Device.Profile
	Specs   []rules.Spec // effective rules, without targeting fields
	// Points maps the profile's point names to their units. Devices of
	// one profile share one map: it must not be modified.
	Points map[string]string
	// Params are the device's parameter values: the profile's defaults
	// overridden by devices[].params (rules.DeviceRules.Params).
	Params map[string]float64
}

// DeviceRules returns, per device in config order, its effective rules:
// the default rules of its profile, then each entry of the config's
// rules: section that targets the device applied in order —
//
//   - disabled: true removes the rule with that id;
//   - an id the list already has replaces that rule in place (a whole
//     rule: keys left out take their zero value, not the profile's);
//   - a new id is appended.
//
// A config rule targets a device listed in its devices, or whose profile
// is listed in its profiles, or every device when both are empty.
// profiles is the set the daemon runs with (normally
// profile.Load(c.ProfilesDir)); an error means a device's profile or
// rules cannot be resolved, which Load has already reported.
func (c *Config) DeviceRules(profiles *profile.Set) ([]DeviceRuleSet, error) {
	if profiles == nil {
		return nil, fmt.Errorf("no profile set")
	}
	p := newProblems()
	defaults := map[string][]rules.Spec{}
	pointUnits := map[string]map[string]string{} // by profile: shared, read-only
	out := make([]DeviceRuleSet, 0, len(c.Devices))
	for i, d := range c.Devices {
		pr, ok := profiles.Get(d.Profile)
		if !ok {
			p.add(fmt.Sprintf("devices[%d].profile", i), "%q is not a known profile", d.Profile)
			continue
		}
		base, seen := defaults[pr.Name]
		if !seen {
			base = decodeProfileRules(p, pr)
			defaults[pr.Name] = base
			pointUnits[pr.Name] = units(pr)
		}
		out = append(out, DeviceRuleSet{
			Device: d.ID, Profile: pr.Name,
			Specs:  c.mergeRules(d, slices.Clone(base)),
			Points: pointUnits[pr.Name],
			Params: paramValues(pr, d),
		})
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// mergeRules applies the config's rules that target d to specs.
func (c *Config) mergeRules(d Device, specs []rules.Spec) []rules.Spec {
	for _, r := range c.Rules {
		if !targets(r, d) {
			continue
		}
		i := slices.IndexFunc(specs, func(s rules.Spec) bool { return s.ID == r.ID })
		r.Devices, r.Profiles = nil, nil
		switch {
		case r.Disabled && i >= 0:
			specs = slices.Delete(specs, i, i+1)
		case r.Disabled:
		case i >= 0:
			specs[i] = r
		default:
			specs = append(specs, r)
		}
	}
	return specs
}

// units maps a profile's point names to their units.
func units(pr *profile.Profile) map[string]string {
	m := make(map[string]string, len(pr.Points))
	for _, pt := range pr.Points {
		m[pt.Name] = pt.Unit
	}
	return m
}

// validateMergedRules compiles every device's effective rules the way the
// daemon will, so references between rules (an escalation's if_open, a
// compound rule's members) that a rule override or a disabled rule broke
// are reported by config check, not first at `fenghuo run`. It runs only
// when everything else is valid: its messages would repeat earlier ones.
func (c *Config) validateMergedRules(p *problems) {
	if len(p.errs) > 0 || c.profiles == nil {
		return
	}
	sets, err := c.DeviceRules(c.profiles)
	if err != nil {
		p.add("rules", "%v", err)
		return
	}
	// the first of twins (twins) whose rules compiled: its twins' do too;
	// a failing one's twins are compiled again, for messages with their ids
	compiled := map[int]bool{}
	for i, f := range twins(sets) {
		if compiled[f] {
			continue
		}
		_, err := compileSet(sets[i])
		compiled[i] = err == nil
		if s := sets[i]; err != nil {
			for _, e := range Problems(err) {
				p.add(fmt.Sprintf("devices[%d]", i), "effective rules (profile %s with the config's rules:): %v", s.Profile, e)
			}
		}
	}
}
