package configs_test

import (
	"bytes"
	"testing"
	"time"
	"unicode"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/rules"
	"gopkg.in/yaml.v3"
)

// TestShippedProfileRules decodes every default rule of every shipped
// profile strictly into rules.Spec, as the gateway will, and checks the
// kinds the rule engine implements.
func TestShippedProfileRules(t *testing.T) {
	set, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range set.Names() {
		p, _ := set.Get(name)
		hasOffline := false
		var specs []rules.Spec
		for i := range p.Rules {
			spec := decodeStrict(t, &p.Rules[i])
			specs = append(specs, spec)
			at := name + " " + spec.ID
			switch spec.Type {
			case "threshold", "status":
			case "rate":
				if len(spec.Slopes) == 0 || len(spec.Points) == 0 {
					t.Errorf("%s: a rate rule needs points and slopes", at)
				}
			case "compound":
				if len(spec.AllOf) == 0 && len(spec.AnyOf) == 0 {
					t.Errorf("%s: a compound rule needs groups", at)
				}
			case "creep":
				if spec.Creep == nil || len(spec.Points) == 0 {
					t.Errorf("%s: a creep rule needs points and creep", at)
				}
			case "offline":
				hasOffline = spec.Failures > 0
			default:
				t.Errorf("%s: type %q is not implemented this round", at, spec.Type)
			}
			if at == "electrical-fire-1p R7" && (spec.For != 10*time.Second || spec.ThresholdPoint != "residual_setpoint") {
				t.Errorf("%s decoded as %+v", at, spec)
			}
			checkGrading(t, at, spec)
			if spec.Hazard == "" || spec.Level < 1 || spec.Level > 4 {
				t.Errorf("%s: hazard %q level %d", at, spec.Hazard, spec.Level)
			}
			if spec.Type == "status" && len(spec.When) == 0 {
				t.Errorf("%s: a status rule needs when", at)
			}
			if spec.Type == "threshold" && (len(spec.Points) == 0 || (spec.Threshold == 0 && spec.ThresholdParam == "") != (spec.Op == "outside")) {
				t.Errorf("%s: a threshold rule needs points and a (fallback) threshold or a threshold_param, or op outside and a band", at)
			}
		}
		if !hasOffline {
			t.Errorf("%s: no R21 offline rule", name)
		}
		// compiles, with every point and every referenced rule id on the profile
		units := map[string]string{}
		for _, pt := range p.Points {
			units[pt.Name] = pt.Unit
		}
		if _, err := rules.NewEngine([]rules.DeviceRules{{Device: name, Specs: specs, Points: units, Params: p.Defaults()}}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		// and with every parameter set (its default, else the middle of its range)
		all := p.Defaults()
		for _, pa := range p.Params {
			if _, ok := all[pa.Name]; !ok {
				all[pa.Name] = (pa.Range[0] + pa.Range[1]) / 2
			}
		}
		eng, err := rules.NewEngine([]rules.DeviceRules{{Device: name, Specs: specs, Points: units, Params: all}})
		if err != nil {
			t.Errorf("%s with every parameter: %v", name, err)
		} else if notes := eng.Notes(); len(notes) > 0 {
			t.Errorf("%s with every parameter set, rules are still reduced: %v", name, notes)
		}
	}
}

// checkGrading spot-checks the escalation, rate, compound and test-mode
// keys of the shipped defaults (DESIGN §8.3).
func checkGrading(t *testing.T, at string, spec rules.Spec) {
	t.Helper()
	switch at {
	case "electrical-fire-1p R13", "smart-meter-3p R13", "chint-dtsu666 R13", "peacefair-pzem-004t R13", "arc-fault-1p R13":
		if len(spec.Escalate) != 1 || spec.Escalate[0].Level != 2 || spec.Escalate[0].ThresholdFactor != 1.05 ||
			spec.ThresholdParam != "rated_current_a" {
			t.Errorf("%s: escalation %+v, threshold_param %q", at, spec.Escalate, spec.ThresholdParam)
		}
	case "electrical-fire-1p R14", "smart-meter-3p R14", "chint-dtsu666 R14", "peacefair-pzem-004t R14", "arc-fault-1p R14":
		if spec.ThresholdParam != "rated_current_a" || spec.ThresholdFactor != 0.9 || spec.For != 10*time.Minute {
			t.Errorf("%s decoded as %+v", at, spec)
		}
	case "electrical-fire-1p R12", "smart-meter-3p R12":
		if len(spec.Slopes) != 2 || spec.Slopes[0].Window != 10*time.Minute || spec.Slopes[0].MinValue == nil ||
			*spec.Slopes[0].MinValue != 45 || spec.ClearSlope != 0.5 || len(spec.Escalate) != 1 || len(spec.Escalate[0].IfOpen) != 3 {
			t.Errorf("%s decoded as %+v", at, spec)
		}
	case "electrical-fire-1p R22", "smart-meter-3p R22":
		if len(spec.AllOf) != 2 || len(spec.AllOf[1].AnyOf) != 2 || spec.Within != 10*time.Minute || spec.Level != 1 {
			t.Errorf("%s decoded as %+v", at, spec)
		}
	case "electrical-fire-1p R9", "smart-meter-3p R9":
		c := spec.Creep
		if c == nil || c.Night != "02:00-05:00" || c.UTCOffset != "+08:00" || c.Slope != 15 || c.Ratio != 1.5 ||
			c.MinBaseline != 100 || spec.MinSamples != 2 || spec.ClearSamples != 7 || len(spec.Escalate) != 1 ||
			spec.Escalate[0].CrossDays != 14 || spec.Escalate[0].Level != 2 {
			t.Errorf("%s decoded as %+v (creep %+v)", at, spec, c)
		}
	case "arc-fault-1p R19":
		if len(spec.Escalate) != 2 || spec.Escalate[0].Count != 3 || spec.Escalate[0].Within != 24*time.Hour || len(spec.Escalate[1].IfOpen) != 2 {
			t.Errorf("%s: escalation %+v", at, spec.Escalate)
		}
	case "smoke-detector R1":
		tm := spec.TestMode
		if tm == nil || len(tm.Any) != 2 || tm.Any[0].Point != "status" || len(tm.Any[0].Bits) != 1 || tm.Any[0].Bits[0] != 0 ||
			tm.Any[1].Point != "fault_detail" || len(tm.Any[1].Bits) != 1 || tm.Any[1].Bits[0] != 7 {
			t.Errorf("%s: test mode %+v", at, spec.TestMode)
		}
	}
}

func decodeStrict(t testing.TB, n *yaml.Node) rules.Spec {
	t.Helper()
	raw, err := yaml.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var s rules.Spec
	if err := dec.Decode(&s); err != nil {
		t.Errorf("rule at line %d: %v\n%s", n.Line, err, raw)
	}
	return s
}

// TestBitMeaningsInChinese: every bit meaning of a shipped profile reads
// in Chinese first, then English (diag shows them to the crew).
func TestBitMeaningsInChinese(t *testing.T) {
	set, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range set.Names() {
		p, _ := set.Get(name)
		for _, pt := range p.Points {
			for bit, meaning := range pt.Bits {
				han, latin := false, false
				for _, r := range meaning {
					han = han || unicode.Is(unicode.Han, r)
					latin = latin || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
				}
				if !han || !latin {
					t.Errorf("%s %s bit%d %q: want a Chinese label and an English one", name, pt.Name, bit, meaning)
				}
			}
		}
	}
}
