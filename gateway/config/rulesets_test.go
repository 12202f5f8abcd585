package config

import (
	"fmt"
	"strings"
	"testing"
)

// Twin devices (same profile, rules and parameters) are compiled once to
// check them, yet every device keeps its own notes, and one with other
// parameters is compiled on its own.
func TestTwinDevicesNotesAndChecks(t *testing.T) {
	var devs strings.Builder
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&devs, "  - {id: meter-%d, name: 表%d, bus: lan, slave: %d, profile: chint-dtsu666}\n", i, i, 2+i)
	}
	devs.WriteString("  - {id: meter-4, name: 表4, bus: lan, slave: 9, profile: chint-dtsu666, params: {rated_current_a: 250}}\n")
	c := mustParse(t, strings.Replace(minimal, "profile: smoke-detector}\n", "profile: smoke-detector}\n"+devs.String(), 1))
	sets, err := c.DeviceRules(c.Profiles())
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(twins(sets)); got != "[0 1 1 1 4]" {
		t.Errorf("twins %s, want [0 1 1 1 4]", got)
	}
	var got []string
	for _, n := range c.ParamNotes() {
		got = append(got, n.Device+" "+n.Rule)
	}
	if want := "meter-1 R13,meter-1 R14,meter-2 R13,meter-2 R14,meter-3 R13,meter-3 R14"; strings.Join(got, ",") != want {
		t.Errorf("notes %v, want %s", got, want)
	}
}
