package rules

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// compoundRule is the compiled part of a compound rule.
type compoundRule struct {
	ids    [][]string     // groups of rule ids, as written
	groups [][]*ruleState // resolved on the device
	within time.Duration
	nAll   int // groups from AllOf; a last one beyond is AnyOf
}

// groupsOf returns a compound spec's groups: AllOf, then AnyOf.
func groupsOf(s *Spec) [][]string {
	var gs [][]string
	for _, g := range s.AllOf {
		gs = append(gs, g.AnyOf)
	}
	if len(s.AnyOf) > 0 {
		gs = append(gs, s.AnyOf)
	}
	return gs
}

func compileCompound(s *Spec) *compoundRule {
	return &compoundRule{ids: groupsOf(s), within: s.Within, nAll: len(s.AllOf)}
}

// window is the evidence window of an open: "(R7|R8) & (R10|R12) within 10m".
func (c *compoundRule) window() string {
	parts := make([]string, len(c.ids))
	for i, g := range c.ids {
		parts[i] = "(" + strings.Join(g, "|") + ")"
	}
	s := strings.Join(parts, " & ")
	if c.within > 0 {
		s += " within " + shortDuration(c.within)
	}
	return s
}

// resolveGroups binds the member ids of a compound rule st to their
// states on d. A member must not be a compound rule itself.
func (d *device) resolveGroups(st *ruleState) []error {
	c := st.r.compound
	if c == nil {
		return nil
	}
	var errs []error
	c.groups = make([][]*ruleState, len(c.ids))
	for i, g := range c.ids {
		for j, id := range g {
			m, err := d.ref(st, id)
			if errors.Is(err, errLeftOut) {
				continue // never open on this device: its group may end empty, and never be recent
			}
			if err == nil && m.r.compound != nil {
				err = fmt.Errorf("%q is a compound rule: members must be other kinds", id)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("device %q: rule %s: %s: %w", d.id, st.r.id, groupField(st.r.compound, i, j), err))
				continue
			}
			c.groups[i] = append(c.groups[i], m)
		}
	}
	return errs
}

// groupField is the YAML key of member j of group i.
func groupField(c *compoundRule, i, j int) string {
	if i < c.nAll {
		return fmt.Sprintf("all_of[%d].any_of[%d]", i, j)
	}
	return fmt.Sprintf("any_of[%d]", j)
}

// evalCompound is trigger when every group is recent (a member open, or
// cleared within the window) and a member is open now, band when a member
// is open but a group is not recent, normal when no member is open.
func evalCompound(st *ruleState, d *device) observation {
	c, at := st.r.compound, d.lastAt
	open, all := false, true
	for _, g := range c.groups {
		recent := false
		for _, m := range g {
			switch {
			case m.firing && !m.test:
				open, recent = true, true
			case !m.clearedAt.IsZero() && at.Sub(m.clearedAt) <= c.within:
				recent = true
			}
		}
		all = all && recent
	}
	switch {
	case open && all:
		return observation{class: trigger, byValue: true, point: -1}
	case open:
		return observation{class: band, point: -1}
	}
	return observation{class: normal, point: -1}
}
