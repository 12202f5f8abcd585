package config

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/rules"
)

const twoProfiles = `
gateway:
  id: gw-330502103-test-01
  site: {name: 云村文化礼堂, township_code: "330502103"}
buses:
  - {name: lan, type: tcp, address: "192.168.1.50:502"}
devices:
  - {id: smoke-a, name: 烟感A, bus: lan, slave: 1, profile: smoke-detector}
  - {id: smoke-b, name: 烟感B, bus: lan, slave: 2, profile: smoke-detector}
  - {id: efd, name: 电气火灾探测器, bus: lan, slave: 7, profile: electrical-fire-1p}
uplink:
  mqtt:
    broker: "tls://mqtt.township.example:8883"
`

func ids(specs []rules.Spec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.ID
	}
	return out
}

func find(specs []rules.Spec, id string) *rules.Spec {
	i := slices.IndexFunc(specs, func(s rules.Spec) bool { return s.ID == id })
	if i < 0 {
		return nil
	}
	return &specs[i]
}

// TestDeviceRules: profile defaults, then config rules in order: replace
// by id, disable, add; targets by device and by profile.
func TestDeviceRules(t *testing.T) {
	c := mustParse(t, twoProfiles+`rules:
  - {id: R4, profiles: [smoke-detector], disabled: true}
  - {id: R2, devices: [smoke-b], hazard: smoke_prealarm, type: threshold, points: [smoke_level], threshold: 0.1, for: 10s, level: 2}
  - {id: X1, devices: [efd], hazard: overload, type: threshold, points: [current], threshold: 40, for: 60s}
  - {id: R21, hazard: device_offline, type: offline, failures: 5, for: 60s}
`)
	profiles, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	sets, err := c.DeviceRules(profiles)
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 3 || sets[0].Device != "smoke-a" || sets[2].Profile != "electrical-fire-1p" {
		t.Fatalf("sets: %+v", sets)
	}
	a, b, efd := sets[0].Specs, sets[1].Specs, sets[2].Specs
	if find(a, "R4") != nil || find(b, "R4") != nil {
		t.Errorf("R4 not disabled: %v / %v", ids(a), ids(b))
	}
	if r := find(a, "R2"); r == nil || r.Threshold != 0.15 {
		t.Errorf("smoke-a R2 should be the profile's: %+v", r)
	}
	if r := find(b, "R2"); r == nil || r.Threshold != 0.1 || r.Level != 2 || len(r.Devices) != 0 {
		t.Errorf("smoke-b R2 should be replaced, without targeting: %+v", r)
	}
	if ia, ib := slices.Index(ids(a), "R2"), slices.Index(ids(b), "R2"); ia != ib {
		t.Errorf("replacement not in place: %v vs %v", ids(a), ids(b))
	}
	if find(efd, "X1") == nil || find(a, "X1") != nil || ids(efd)[len(efd)-1] != "R21" && ids(efd)[len(efd)-1] != "X1" {
		t.Errorf("X1 added to efd only: %v / %v", ids(efd), ids(a))
	}
	for _, s := range sets {
		if r := find(s.Specs, "R21"); r == nil || r.Failures != 5 {
			t.Errorf("%s: R21 not replaced for all devices: %+v", s.Device, r)
		}
		if _, ok := s.Points["status"]; !ok && s.Points["residual_current"] != "mA" {
			t.Errorf("%s: no point units: %v", s.Device, s.Points)
		}
	}
	if !strings.Contains(c.Summary(), "3 devices (2 profiles)") {
		t.Errorf("summary: %s", c.Summary())
	}
}

// TestConfigRuleProblems: config rules are checked against the profiles
// they target.
func TestConfigRuleProblems(t *testing.T) {
	_, err := Parse([]byte(twoProfiles + `rules:
  - {id: R4, devices: [efd], disabled: true}
  - {id: R99, profiles: [smoke-detector], disabled: true}
  - {id: X1, hazard: overload, type: threshold, points: [current], threshold: 40}
  - {id: X2, profiles: [electrical-fire-1p], hazard: overload, type: threshold, points: [current], threshold: 40}
  - {id: X2, devices: [efd], hazard: overload, type: threshold, points: [current], threshold: 40}
  - {id: X3, profiles: [smoke-detectr], hazard: smoke_prealarm, type: threshold, points: [smoke_level]}
`))
	want := `rules[0].id: "R4" is not a default rule of electrical-fire-1p (its rules: …)
rules[1].id: "R99" is not a default rule of smoke-detector (its rules: …)
rules[2].points[0]: "current" is not a point of this profile (rule X1)
rules[4].id: "X2" also applies to device efd through rules[3]
rules[5].profiles[0]: "smoke-detectr" is not a known profile (did you mean "smoke-detector"?)
`
	got := regexp.MustCompile(`\(its rules: [^)]*\)`).ReplaceAllString(problemText(err), "(its rules: …)")
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
