package rules

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidateMessages(t *testing.T) {
	points := func(name string) bool {
		return name == "residual_current" || name == "residual_setpoint" || name == "alarm_flags" || name == "status"
	}
	cases := []struct {
		name string
		edit func(s *Spec)
		want []string
	}{
		{"good", func(s *Spec) {}, nil},
		{"unknown point", func(s *Spec) { s.ThresholdPoint = "residual_setpoint2" },
			[]string{`threshold_point: "residual_setpoint2" is not a point of this profile`}},
		{"bad type", func(s *Spec) { s.Type = "slope" },
			[]string{`type: "slope" is not one of threshold, status, offline, rate, creep, compound`}},
		{"bad level", func(s *Spec) { s.Level = 7 }, []string{`level: 7 is out of range 1..4`}},
		{"unknown hazard", func(s *Spec) { s.Hazard = "smoke_fire" },
			[]string{`hazard: "smoke_fire" is unknown (did you mean "smoke_fire_alarm"?)`}},
		{"typo hazard", func(s *Spec) { s.Hazard = "residual_curent_alarm" },
			[]string{`hazard: "residual_curent_alarm" is unknown (did you mean "residual_current_alarm"?)`}},
		{"hysteresis larger than the threshold", func(s *Spec) { s.HysteresisPct, s.Hysteresis = 0, 400 },
			[]string{`hysteresis: 400 is larger than the threshold 300: the rule would clear only below -100`}},
		{"inverted band", func(s *Spec) {
			s.Op, s.Threshold, s.ThresholdPoint, s.HysteresisPct, s.Band = "outside", 0, "", 0, &Band{Low: 235.4, High: 198}
		}, []string{`band: low 235.4 is not below high 198 (an inverted or empty band)`}},
		{"band without outside", func(s *Spec) { s.Band = &Band{Low: 1, High: 2} }, []string{`band: is used with op outside only`}},
		{"outside", func(s *Spec) {
			s.Op, s.Band, s.Hysteresis, s.HysteresisPct = "outside", &Band{Low: 198, High: 235.4}, 20, 0
			s.Escalate = []Escalation{{Level: 1, ThresholdFactor: 1.1}}
		}, []string{
			`hysteresis: 20 leaves no clear range inside the band 198..235.4`,
			`threshold: is not used with op outside (the band is the limit; use hysteresis)`,
			`threshold_point: is not used with op outside (the band is the limit; use hysteresis)`,
			`escalate[0]: a value step needs op above or below; use if_open`,
		}},
		{"outside without band", func(s *Spec) { s.Op, s.Threshold, s.ThresholdPoint, s.HysteresisPct = "outside", 0, "", 0 },
			[]string{`band: op outside needs band: {low, high}`}},
		{"count and cross steps", func(s *Spec) {
			s.Escalate = []Escalation{{Level: 1, Count: 1, Within: time.Hour}, {Level: 1, Count: 3}, {Level: 1, CrossDays: 14},
				{Level: 1, IfOpen: []string{"R8"}, Within: time.Hour}}
		}, []string{
			`escalate[0].count: 1 is out of range 2..16`,
			`escalate[1].within: a count step needs a positive within (count episodes within, e.g. 24h)`,
			`escalate[2].cross_days: is used by creep rules only`,
			`escalate[3].within: is used with count only`,
		}},
		{"creep keys on a threshold rule", func(s *Spec) { s.Creep = &Creep{Night: "02:00-05:00", Slope: 15} },
			[]string{`creep: is not used by threshold rules`}},
		{"everything at once", func(s *Spec) {
			s.ID, s.Op, s.Points = "", "over", nil
			s.Hysteresis, s.HysteresisPct = -1, 120
			s.When = []BitCond{{Point: "alarm_flag", Bits: []int{40}, Equals: f(1)}}
			s.For, s.ClearSamples, s.Failures = -time.Second, -1, 2
		}, []string{
			`id: is required`,
			`points: a threshold rule needs at least one point`,
			`op: "over" is not one of above, below, outside (did you mean "above"?)`,
			`hysteresis: -1 must not be negative`,
			`hysteresis_pct: 120 is out of range 0..100`,
			`hysteresis_pct: set either hysteresis or hysteresis_pct, not both`,
			`when[0].point: "alarm_flag" is not a point of this profile`,
			`when[0]: set exactly one of bits, equals, not_equals, not_equals_param, in, above, below, all`,
			`when[0].bits[0]: 40 is out of range 0..31`,
			`for: -1s must not be negative`,
			`clear_samples: -1 must not be negative`,
			`failures: is not used by threshold rules`,
		}},
		{"escalation", func(s *Spec) {
			s.Escalate = []Escalation{
				{Level: 2, ThresholdFactor: 1.05},
				{Level: 5, ThresholdFactor: -1, For: -time.Second},
				{Level: 1},
				{Level: 1, ThresholdFactor: 1.1, IfOpen: []string{"R10"}},
				{Level: 1, IfOpen: []string{"", "R7"}},
			}
		}, []string{
			`escalate[0].level: 2 is not more urgent than the rule's level 2`,
			`escalate[1].level: 5 is out of range 1..4`,
			`escalate[1].threshold_factor: -1 must not be negative`,
			`escalate[1].for: -1s must not be negative`,
			`escalate[2]: needs a value step (threshold_factor, threshold_offset, for), if_open, cross_days or count`,
			`escalate[3]: set one of a value step (threshold_factor, threshold_offset, for, min_samples), if_open, cross_days or count`,
			`escalate[4].if_open[0]: a rule id is required`,
			`escalate[4].if_open[1]: "R7" is this rule itself`,
		}},
		{"status escalates by if_open only", func(s *Spec) {
			*s = specR3
			s.Escalate = []Escalation{{Level: 2, For: time.Minute}, {Level: 1, IfOpen: []string{"R1"}}}
		}, []string{`escalate[0]: a value step needs a rule with a value (threshold); use if_open`}},
		{"rate", func(s *Spec) {
			*s = specR12
			s.Points = []string{"residual_current", "t9"}
			s.Slopes = append(s.Slopes, SlopeCond{Window: 0, Slope: -1, Samples: 2})
			s.ClearSlope, s.Threshold, s.Per = 2, 3, -time.Minute
		}, []string{
			`points[1]: "t9" is not a point of this profile`,
			`per: -1m0s must not be negative`,
			`clear_slope: 2 is out of range 0..1 (slopes[0].slope)`,
			`slopes[2].window: 0s must be positive`,
			`slopes[2].slope: -1 must be positive (a rate of rise)`,
			`slopes[2].samples: 2 is below 3 (one outlier is left out of each fit)`,
			`threshold: is not used by rate rules`,
		}},
		{"rate keys on a threshold rule", func(s *Spec) {
			s.Slopes, s.ClearSlope = []SlopeCond{{Window: time.Minute, Slope: 1}}, 0.5
		}, []string{`slopes: is not used by threshold rules`, `clear_slope: is not used by threshold rules`}},
		{"compound", func(s *Spec) {
			*s = specR22
			s.AllOf = append(s.AllOf, RuleGroup{}, RuleGroup{AnyOf: []string{"", "R22"}})
			s.Within, s.Points = -time.Minute, []string{"t1"}
		}, []string{
			`all_of[2].any_of: a group needs at least one rule id`,
			`all_of[3].any_of[0]: a rule id is required`,
			`all_of[3].any_of[1]: "R22" is this rule itself`,
			`within: -1m0s must not be negative`,
			`points: is not used by compound rules`,
		}},
		{"compound needs groups", func(s *Spec) {
			*s = Spec{ID: "R22", Hazard: "compound_electrical", Type: "compound"}
		}, []string{`all_of: a compound rule needs all_of groups or any_of`}},
		{"test mode", func(s *Spec) {
			s.TestMode = &BitCond{Point: "statu", Bits: []int{0, 32}}
		}, []string{`test_mode.point: "statu" is not a point of this profile`, `test_mode.bits[1]: 32 is out of range 0..31`}},
		{"status needs when", func(s *Spec) {
			*s = Spec{ID: "R3", Hazard: "detector_fault", Type: "status", Threshold: 3}
		}, []string{`when: a status rule needs at least one condition`, `threshold: is not used by status rules`}},
		{"offline", func(s *Spec) {
			*s = Spec{ID: "R21", Hazard: "device_offline", Type: "offline", Failures: -1, MinSamples: 2,
				When: []BitCond{{Point: "status", Bits: []int{1}}}}
		}, []string{`when: is not used by offline rules`, `min_samples: is not used by offline rules`, `failures: -1 must not be negative`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := specR7
			c.edit(&s)
			errs := s.Validate(points)
			var got []string
			for _, err := range errs {
				var fe *FieldError
				if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), fe.Field+": ") {
					t.Errorf("%v is not a FieldError", err)
				}
				got = append(got, err.Error())
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

func TestValidateWithoutPoints(t *testing.T) {
	s := specR7
	s.ThresholdPoint = "anything"
	if errs := s.Validate(nil); len(errs) != 0 {
		t.Errorf("nil points checked names: %v", errs)
	}
}

func TestShippedRuleShapesAreValid(t *testing.T) {
	for _, s := range []Spec{specR1, specR3, specR7, specR9, specR10, specR12, specR13, specR16, specR17, specR19, specR21, specR22} {
		if errs := s.Validate(nil); len(errs) != 0 {
			t.Errorf("%s: %v", s.ID, errs)
		}
	}
}

func TestSuggest(t *testing.T) {
	cands := []string{"threshold", "threshold_point", "hysteresis", "hysteresis_pct", "min_samples", "for", "op"}
	cases := map[string]string{
		"treshold":      "threshold",
		"hysteresis_pc": "hysteresis_pct",
		"Threshold":     "threshold",
		"min_sample":    "min_samples",
		"fo":            "for",
		"xyz":           "",
		"":              "",
		"zz":            "",
		"thresh":        "threshold",
	}
	for word, want := range cases {
		if got := Suggest(word, cands); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", word, got, want)
		}
	}
}

func TestValidateCreep(t *testing.T) {
	points := func(name string) bool { return name == "residual_current" || name == "residual_setpoint" }
	cases := []struct {
		name string
		edit func(s *Spec)
		want []string
	}{
		{"good", func(s *Spec) {}, nil},
		{"no creep", func(s *Spec) { s.Creep = nil }, []string{`creep: a creep rule needs creep: {night, slope and/or ratio}`}},
		{"bad numbers", func(s *Spec) {
			s.Points = []string{"leak"}
			s.Creep = &Creep{Night: "05:00-02:00", UTCOffset: "CST", Slope: -1, Ratio: 0.8, SlopeDays: 2, RatioDays: 90, MinBaseline: -5}
			s.Hysteresis, s.For = 5, -time.Hour
			s.Escalate = []Escalation{{Level: 2, ThresholdFactor: 1.1}}
		}, []string{
			`points[0]: "leak" is not a point of this profile`,
			`hysteresis: is not used by creep rules`,
			`creep.night: "05:00-02:00" must start before it ends, within one day (02:00-05:00)`,
			`creep.utc_offset: "CST" is not an offset like +08:00`,
			`creep.slope: -1 must not be negative`,
			`creep.ratio: 0.8 must be above 1 (tonight's baseline over the median)`,
			`creep.min_baseline: -5 must not be negative`,
			`creep.slope_days: 2 is out of range 3..60`,
			`creep.ratio_days: 90 is out of range 3..60`,
			`for: -1h0m0s must not be negative`,
			`escalate[0]: a value step needs a rule with a value (threshold); use if_open`,
		}},
		{"nothing to judge", func(s *Spec) { s.Creep = &Creep{Night: "2-5"} }, []string{
			`creep.night: "2-5" is not HH:MM-HH:MM`,
			`creep: set slope, ratio or both`,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := specR9
			s.Creep = new(*specR9.Creep)
			c.edit(&s)
			var got []string
			for _, err := range s.Validate(points) {
				got = append(got, err.Error())
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}
