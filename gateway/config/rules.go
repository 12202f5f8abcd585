package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// loadProfiles loads the embedded profiles and profiles_dir. On problems
// it reports them under profiles_dir and falls back to the embedded set,
// so devices and rules can still be checked.
func (c *Config) loadProfiles(p *problems) {
	set, err := profile.Load(c.ProfilesDir)
	if err == nil {
		c.profiles = set
		return
	}
	for _, e := range Problems(err) {
		p.add("profiles_dir", "%v", e)
	}
	if c.ProfilesDir != "" {
		c.profiles, _ = profile.Load("") // the shipped profiles alone
	}
}

// validateDeviceProfile checks that a device's profile exists.
func (c *Config) validateDeviceProfile(p *problems, at string, d Device) {
	if c.profiles == nil {
		return
	}
	names := c.profiles.Names()
	switch _, ok := c.profiles.Get(d.Profile); {
	case d.Profile == "":
		p.add(at+".profile", "is required (one of %s)", strings.Join(names, ", "))
	case !ok:
		h := hint(d.Profile, names)
		if h == "" {
			h = " (known: " + strings.Join(names, ", ") + ")"
		}
		p.add(at+".profile", "%q is not a known profile%s", d.Profile, h)
	}
}

// validateProfileRules decodes and checks the default rules of every
// profile in the set, shipped or dropped in: a broken profile is an
// installer-visible error too.
func (c *Config) validateProfileRules(p *problems) {
	if c.profiles == nil {
		return
	}
	for _, name := range c.profiles.Names() {
		pr, _ := c.profiles.Get(name)
		specs := decodeProfileRules(p, pr)
		for i := range specs {
			at := fmt.Sprintf("profile %s: rules[%d].", pr.Name, i)
			p.addAt(at, named(specs[i].ID, specs[i].Validate(pointsOf(pr))))
			if specs[i].Disabled || len(specs[i].Devices) > 0 || len(specs[i].Profiles) > 0 {
				p.add(at+"devices", "devices, profiles and disabled belong in the config's rules: section, not in a profile")
			}
		}
	}
}

// decodeProfileRules decodes a profile's raw rules strictly into specs,
// recording problems at "profile NAME: rules[i]…".
func decodeProfileRules(p *problems, pr *profile.Profile) []rules.Spec {
	specs := make([]rules.Spec, 0, len(pr.Rules))
	for i := range pr.Rules {
		at := fmt.Sprintf("profile %s: rules[%d]", pr.Name, i)
		var raw any
		if err := pr.Rules[i].Decode(&raw); err != nil {
			p.decodeErr(at, "%v", err)
			continue
		}
		var s rules.Spec
		decoder{p}.decode(at, raw, reflect.ValueOf(&s).Elem())
		specs = append(specs, s)
	}
	return specs
}

// pointsOf returns the point lookup of one profile.
func pointsOf(pr *profile.Profile) func(string) bool {
	return func(name string) bool { return pr.Point(name) != nil }
}

// validateRules checks the config's rules: section: each spec, its
// targets, and that no two rules with one id apply to the same device.
func (c *Config) validateRules(p *problems) {
	owner := map[string]int{} // "id/device" -> rule index
	for i, r := range c.Rules {
		at := fmt.Sprintf("rules[%d]", i)
		devs, profs := c.ruleTargets(p, at, r)
		if r.Disabled {
			c.checkDisabled(p, at, r, profs)
		} else {
			p.addAt(at+".", named(r.ID, r.Validate(pointsOfAll(profs))))
			checkRuleParams(p, at, r, profs)
		}
		for _, d := range devs {
			key := r.ID + "/" + d
			if j, dup := owner[key]; dup && r.ID != "" {
				p.add(at+".id", "%q also applies to device %s through rules[%d]", r.ID, d, j)
				break
			}
			owner[key] = i
		}
	}
}

// ruleTargets checks a rule's devices and profiles lists and returns the
// device ids it applies to and the profiles its points must exist in.
func (c *Config) ruleTargets(p *problems, at string, r rules.Spec) (devs []string, profs []*profile.Profile) {
	ids := make([]string, len(c.Devices))
	for i, d := range c.Devices {
		ids[i] = d.ID
	}
	for j, id := range r.Devices {
		if !slices.Contains(ids, id) {
			p.add(fmt.Sprintf("%s.devices[%d]", at, j), "%q is not a configured device%s", id, hint(id, ids))
		}
	}
	var names []string
	if c.profiles != nil {
		names = c.profiles.Names()
	}
	for j, name := range r.Profiles {
		pr, ok := c.profileNamed(name)
		if !ok {
			p.add(fmt.Sprintf("%s.profiles[%d]", at, j), "%q is not a known profile%s", name, hint(name, names))
			continue
		}
		profs = appendProfile(profs, pr)
	}
	for _, d := range c.Devices {
		if targets(r, d) {
			devs = append(devs, d.ID)
			if pr, ok := c.profileNamed(d.Profile); ok {
				profs = appendProfile(profs, pr)
			}
		}
	}
	return devs, profs
}

// targets reports whether a config rule applies to device d: d is listed
// in devices, or its profile in profiles, or both lists are empty.
func targets(r rules.Spec, d Device) bool {
	if len(r.Devices) == 0 && len(r.Profiles) == 0 {
		return true
	}
	return slices.Contains(r.Devices, d.ID) || slices.Contains(r.Profiles, d.Profile)
}

// checkDisabled requires a disabled rule's id to name a default rule of a
// targeted profile.
func (c *Config) checkDisabled(p *problems, at string, r rules.Spec, profs []*profile.Profile) {
	if r.ID == "" {
		p.add(at+".id", "is required (the id of the profile rule to disable, e.g. R4)")
		return
	}
	var ids, names []string
	for _, pr := range profs {
		names = append(names, pr.Name)
		for _, s := range decodeProfileRules(newProblems(), pr) {
			if s.ID == r.ID {
				return
			}
			if !slices.Contains(ids, s.ID) {
				ids = append(ids, s.ID)
			}
		}
	}
	if len(profs) > 0 {
		p.add(at+".id", "%q is not a default rule of %s (its rules: %s)", r.ID, strings.Join(names, ", "), strings.Join(ids, ", "))
	}
}

// pointsOfAll is the point lookup of a rule that applies to all of profs:
// a point must exist in each. With no profiles, points are not checked.
func pointsOfAll(profs []*profile.Profile) func(string) bool {
	if len(profs) == 0 {
		return nil
	}
	return func(name string) bool {
		for _, pr := range profs {
			if pr.Point(name) == nil {
				return false
			}
		}
		return true
	}
}

func (c *Config) profileNamed(name string) (*profile.Profile, bool) {
	if c.profiles == nil {
		return nil, false
	}
	return c.profiles.Get(name)
}

func appendProfile(list []*profile.Profile, pr *profile.Profile) []*profile.Profile {
	if slices.Contains(list, pr) {
		return list
	}
	return append(list, pr)
}

// named appends the rule's id to each of its problems, so that a message
// names the rule as well as the key: `rules[1].for: -10s must not be
// negative (rule R7)`.
func named(id string, errs []error) []error {
	if strings.TrimSpace(id) == "" {
		return errs
	}
	for i, e := range errs {
		if fe, ok := e.(*rules.FieldError); ok {
			errs[i] = &rules.FieldError{Field: fe.Field, Msg: fe.Msg + " (rule " + id + ")"}
		}
	}
	return errs
}
