package config

import (
	"maps"
	"reflect"

	"github.com/fenghuo-iot/fenghuo/rules"
)

// maxRuleSetKinds bounds the distinct rule sets kept per profile while
// looking for a device's twin, so that a site of 1 000 devices with 1 000
// different parameter values costs at most this many comparisons each.
const maxRuleSetKinds = 8

// twins returns, for each device's rule set, the index of the first set
// that compiles alike: same profile, points, specs and parameter values,
// only the device id differing. A site of 1 000 meters of one model
// compiles its rules once to check them, not 1 000 times.
func twins(sets []DeviceRuleSet) []int {
	first := make([]int, len(sets))
	kinds := map[string][]int{} // by profile: the sets that are their own first
	for i := range sets {
		first[i] = i
		for _, j := range kinds[sets[i].Profile] {
			if sameRules(&sets[j], &sets[i]) {
				first[i] = j
				break
			}
		}
		if ks := kinds[sets[i].Profile]; first[i] == i && len(ks) < maxRuleSetKinds {
			kinds[sets[i].Profile] = append(ks, i)
		}
	}
	return first
}

// sameRules reports whether a and b compile alike but for the device id.
func sameRules(a, b *DeviceRuleSet) bool {
	return maps.Equal(a.Params, b.Params) && maps.Equal(a.Points, b.Points) && reflect.DeepEqual(a.Specs, b.Specs)
}

// compileSet compiles one device's rules alone (validation, notes).
func compileSet(s DeviceRuleSet) (*rules.Engine, error) {
	return rules.NewEngine([]rules.DeviceRules{{Device: s.Device, Specs: s.Specs, Points: s.Points, Params: s.Params}})
}
