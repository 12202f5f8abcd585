package profile

import (
	"math"
	"strings"
	"testing"
)

const badParams = `name: acme-efd
category: electrical
points:
  - {name: current, address: 0, unit: A}
  - {name: setp, address: 1, access: rw}
params:
  - {name: rated_current_a, unit: A, range: [1, 630], desc: rated current, source: "[E]"}
  - {name: rated_current_a, unit: A, range: [1, 630], desc: again, source: "[E]"}
  - {name: Setpoint, type: float, range: [20, 1000], default: 300, desc: x, source: y}
  - {name: no_range, desc: x, source: y}
  - {name: inverted, range: [10, 1], desc: x, source: y}
  - {name: nan_range, range: [.nan, 1e12], desc: x, source: y}
  - {name: bad_default, type: integer, range: [20, 1000], default: 300.5, desc: x, source: y}
  - {name: out_default, range: [20, 1000], default: 5}
rules:
  - {id: R13, type: threshold, points: [current], threshold_param: rated_curent_a}
  - {id: R26, type: status, when: [{point: setp, not_equals_param: nothere}]}
`

// TestParamsValidate: every problem of a params: section and of the rules'
// parameter references, at once, each at its key path.
func TestParamsValidate(t *testing.T) {
	_, err := Parse("acme.yaml", []byte(badParams))
	if err == nil {
		t.Fatal("want an error")
	}
	want := []string{
		`acme.yaml: params[1].name: "rated_current_a" is also the name of params[0]`,
		`acme.yaml: params[2].name: "Setpoint" must match [a-z][a-z0-9_]*`,
		`acme.yaml: params[2].type: "float" is not one of number, integer`,
		`acme.yaml: params[3].range: needs [min, max] (every parameter has a bound)`,
		`acme.yaml: params[4].range: min 10 is not below max 1`,
		`acme.yaml: params[5].range[0]: NaN is not a finite number within ±1e+09`,
		`acme.yaml: params[5].range[1]: 1e+12 is not a finite number within ±1e+09`,
		`acme.yaml: params[6].default: 300.5 is not an integer (20..1000)`,
		`acme.yaml: params[7].desc: is required`,
		`acme.yaml: params[7].source: is required`,
		`acme.yaml: params[7].default: 5 is out of range 20..1000`,
		`acme.yaml: rules[0].threshold_param: no parameter "rated_curent_a" in profile "acme-efd"`,
		`acme.yaml: rules[1].when[0].not_equals_param: no parameter "nothere" in profile "acme-efd"`,
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("missing problem %q", w)
		}
	}
	if t.Failed() {
		t.Logf("got:\n%s", msg)
	}
}

// Check refuses NaN, ±Inf, absurd magnitudes, fractions of an integer
// parameter and values out of range; it accepts the range's edges.
func TestParamCheck(t *testing.T) {
	pa := Param{Name: "temp_setpoint_c", Unit: "°C", Type: ParamInteger, Range: []float64{55, 140}}
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{55, ""}, {140, ""}, {70, ""},
		{54, "54 is out of range 55..140 °C"},
		{70.5, "70.5 is not an integer (55..140 °C)"},
		{math.NaN(), "NaN is not a finite number"},
		{math.Inf(-1), "-Inf is not a finite number"},
		{1e300, "1e+300 is out of range 55..140 °C"},
	} {
		if got := pa.Check(tc.v); got != tc.want {
			t.Errorf("Check(%g) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

// Every shipped parameter has a source and a default inside its range;
// every current-measuring profile declares rated_current_a.
func TestShippedParams(t *testing.T) {
	set, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"electrical-fire-1p", "smart-meter-3p", "arc-fault-1p", "chint-dtsu666", "peacefair-pzem-004t"} {
		p, _ := set.Get(name)
		pa := p.Param("rated_current_a")
		if pa == nil || pa.Default != nil || pa.Unit != "A" {
			t.Errorf("%s: rated_current_a %+v: want one, in A, without a default (no guessed rating)", name, pa)
		}
	}
	efd, _ := set.Get("electrical-fire-1p")
	if d := efd.Defaults(); len(d) != 2 || d["residual_setpoint_ma"] != 300 || d["temp_setpoint_c"] != 70 {
		t.Errorf("electrical-fire-1p defaults %v", d)
	}
	if p, _ := set.Get("smoke-485-basic"); len(p.Params) != 0 {
		t.Errorf("smoke-485-basic declares %v", p.ParamNames())
	}
}
