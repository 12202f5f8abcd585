package profile

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Command actions a maintenance crew (or, when allowed, the township) can
// send a device: `fenghuo diag control` (DESIGN §2).
const (
	ActionReset    = "reset"
	ActionMute     = "mute"
	ActionSelfTest = "self-test"
)

// Actions are the known command actions, in the order docs list them.
var Actions = []string{ActionReset, ActionMute, ActionSelfTest}

// Command is what one action writes: Value (an engineering value, encoded
// by the point's type and scale) to the writable Point.
type Command struct {
	Point string  `yaml:"point"`
	Value float64 `yaml:"value"`
}

// CommandOf returns the command of action and its point, or an error that
// names the actions the profile has.
func (p *Profile) CommandOf(action string) (Command, *Point, error) {
	c, ok := p.Commands[action]
	if !ok {
		have := p.ActionNames()
		if len(have) == 0 {
			return Command{}, nil, fmt.Errorf("profile %s has no command registers: its devices cannot be reset, muted or self-tested from the gateway", p.Name)
		}
		return Command{}, nil, fmt.Errorf("profile %s has no %q command (it has: %s)", p.Name, action, strings.Join(have, ", "))
	}
	return c, p.Point(c.Point), nil
}

// ActionNames are the profile's command actions, sorted.
func (p *Profile) ActionNames() []string {
	out := make([]string, 0, len(p.Commands))
	for a := range p.Commands {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// checkCommands: every action known, every point writable, every value
// encodable by its point.
func checkCommands(ps *problems, p *Profile) {
	for action, c := range p.Commands {
		at := "commands." + action
		if !slices.Contains(Actions, action) {
			ps.add(at, "unknown action (actions: %s)", strings.Join(Actions, ", "))
			continue
		}
		pt := p.Point(c.Point)
		switch {
		case pt == nil:
			ps.add(at+".point", "%q is not a point of this profile", c.Point)
		case !pt.Writable():
			ps.add(at+".point", "%q is not writable (access %s)", c.Point, pt.Access)
		default:
			if _, err := EncodeValue(pt, c.Value); err != nil {
				ps.add(at+".value", "%v", err)
			}
		}
	}
}
