package config

import (
	"strings"
	"testing"
)

// A meter without rated_current_a runs without R13/R14 (no guessed
// limit): the summary counts only the rules that run and says how many
// were left out, --print lists them; set the parameter and they are back,
// with its value in the device's rule set.
func TestParamNotes(t *testing.T) {
	meter := strings.Replace(minimal, "profile: smoke-detector}\n",
		"profile: smoke-detector}\n  - {id: meter-1, name: 总表, bus: lan, slave: 3, profile: chint-dtsu666}\n", 1)
	without := mustParse(t, meter)
	notes := without.ParamNotes()
	if len(notes) != 2 || notes[0].Rule != "R13" || notes[1].Rule != "R14" || notes[0].Compiled {
		t.Fatalf("notes %v, want R13 and R14 not compiled", notes)
	}
	if s := without.Summary(); !strings.HasSuffix(s, " rules, broker tls://mqtt.township.example:8883; 2 rules left out for want of a device parameter (see --print)") {
		t.Errorf("summary %q", s)
	}
	var b strings.Builder
	if err := without.Print(&b); err != nil {
		t.Fatal(err)
	}
	if want := "#   meter-1: R13 not compiled: no rated_current_a\n#   meter-1: R14 not compiled: no rated_current_a\n"; !strings.HasSuffix(b.String(), want) {
		t.Errorf("--print ends with\n%s\nwant\n%s", lastLines(b.String(), 3), want)
	}

	with := mustParse(t, strings.Replace(meter, "profile: chint-dtsu666}", "profile: chint-dtsu666, params: {rated_current_a: 250}}", 1))
	if n := with.ParamNotes(); len(n) != 0 {
		t.Errorf("notes %v with rated_current_a set", n)
	}
	sets, err := with.DeviceRules(with.Profiles())
	if err != nil {
		t.Fatal(err)
	}
	if got := sets[1].Params["rated_current_a"]; got != 250 {
		t.Errorf("meter-1 params %v", sets[1].Params)
	}
	if strings.Contains(with.Summary(), "left out") {
		t.Errorf("summary %q", with.Summary())
	}
}

// A device's parameter values are the profile's defaults overridden by
// the configured ones.
func TestParamValuesDefaults(t *testing.T) {
	c := mustParse(t, strings.Replace(minimal, "profile: smoke-detector}", "profile: smoke-detector}\n  - {id: efd-1, name: 配电箱, bus: lan, slave: 2, profile: electrical-fire-1p, params: {temp_setpoint_c: 90}}", 1))
	sets, err := c.DeviceRules(c.Profiles())
	if err != nil {
		t.Fatal(err)
	}
	got := sets[1].Params
	if len(got) != 2 || got["residual_setpoint_ma"] != 300 || got["temp_setpoint_c"] != 90 {
		t.Errorf("efd-1 params %v, want residual 300 (default) and temperature 90 (configured)", got)
	}
	if got := sets[0].Params; len(got) != 1 || got["alarm_threshold_db_m"] != 0.15 {
		t.Errorf("smoke params %v", got)
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
