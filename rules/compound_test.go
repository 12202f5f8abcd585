package rules

import (
	"strings"
	"testing"
	"time"
)

// r22Specs is R22 with only R7 and R10 as members (R8 and R12 disabled):
// the group members that are not on the device are left out.
func r22Specs(order string) []Spec {
	r22 := specR22
	r22.AllOf = []RuleGroup{{AnyOf: []string{"R7"}}, {AnyOf: []string{"R10"}}}
	if order == "compound first" {
		return []Spec{r22, specR10, specR7}
	}
	return []Spec{specR7, specR10, r22}
}

func TestR22Compound(t *testing.T) {
	cases := []struct {
		name, residual, t1 string // 5 s polls
		want               []string
	}{
		{"both open: opens when the second opens, clears when both have cleared",
			"350*60 100*40", "30*36 80*44 30*20",
			[]string{"open R7 @0s", "open R10 @180s", "open R22 @190s", "clear R7 @300s", "clear R10 @400s", "clear R22 @460s"}},
		{"R7 cleared 150 s before R10 opened: within 10 min",
			"350*12 100*48", "30*40 80*20",
			[]string{"open R7 @0s", "clear R7 @60s", "open R10 @200s", "open R22 @210s"}},
		{"R7 cleared 710 s before: not within 10 min",
			"350*12 100*148", "30*152 80*8",
			[]string{"open R7 @0s", "clear R7 @60s", "open R10 @760s"}},
	}
	for _, c := range cases {
		for _, order := range []string{"members first", "compound first"} {
			t.Run(c.name+"/"+order, func(t *testing.T) {
				e := mustEngine(t, "efd-1", r22Specs(order)...)
				cols := r12Cols(c.t1)
				cols["residual_current"] = c.residual
				evs := runEach(e, series(t, "efd-1", base, 5*time.Second, cols, flags0))
				wantSummary(t, evs, c.want...)
				for _, ev := range evs {
					if ev.Rule == "R22" && (ev.Level != 1 || ev.Evidence.Window == "") {
						t.Errorf("R22 event %+v", ev)
					}
				}
			})
		}
	}
}

func TestCompoundReferences(t *testing.T) {
	r22 := specR22 // R8 and R12 are not on the device
	bad := Spec{ID: "R23", Hazard: "compound_electrical", Type: "compound", AnyOf: []string{"R22"}}
	_, err := NewEngine([]DeviceRules{{Device: "efd-1", Specs: []Spec{specR7, specR10, r22, bad}}})
	want := []string{
		`device "efd-1": rule R22: all_of[0].any_of[1]: "R8" is not another rule of this device (did you mean "R7"?)`,
		`device "efd-1": rule R22: all_of[1].any_of[1]: "R12" is not another rule of this device (did you mean "R10"?)`,
		`device "efd-1": rule R23: any_of[0]: "R22" is a compound rule: members must be other kinds`,
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Fatalf("error:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}
