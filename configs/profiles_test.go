package configs_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/rules"
	"gopkg.in/yaml.v3"
)

// TestShippedProfileRules decodes every default rule of every shipped
// profile strictly into rules.Spec, as the gateway will, and checks the
// kinds this round's rule engine implements.
func TestShippedProfileRules(t *testing.T) {
	set, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range set.Names() {
		p, _ := set.Get(name)
		hasOffline := false
		for i := range p.Rules {
			spec := decodeStrict(t, &p.Rules[i])
			at := name + " " + spec.ID
			switch spec.Type {
			case "threshold", "status":
			case "offline":
				hasOffline = spec.Failures > 0
			default:
				t.Errorf("%s: type %q is not implemented this round", at, spec.Type)
			}
			if at == "electrical-fire-1p R7" && (spec.For != 10*time.Second || spec.ThresholdPoint != "residual_setpoint") {
				t.Errorf("%s decoded as %+v", at, spec)
			}
			if spec.Hazard == "" || spec.Level < 1 || spec.Level > 4 {
				t.Errorf("%s: hazard %q level %d", at, spec.Hazard, spec.Level)
			}
			if spec.Type == "status" && len(spec.When) == 0 {
				t.Errorf("%s: a status rule needs when", at)
			}
			if spec.Type == "threshold" && (len(spec.Points) == 0 || spec.Threshold == 0) {
				t.Errorf("%s: a threshold rule needs points and a (fallback) threshold", at)
			}
		}
		if !hasOffline {
			t.Errorf("%s: no R21 offline rule", name)
		}
	}
}

func decodeStrict(t *testing.T, n *yaml.Node) rules.Spec {
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
