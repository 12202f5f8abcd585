package rules

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// r24Doc returns the R24 example of docs/rules.md, decoded strictly as a
// profile's rules: list would be.
func r24Doc(t *testing.T) []Spec {
	t.Helper()
	doc, err := os.ReadFile("../docs/rules.md")
	if err != nil {
		t.Fatal(err)
	}
	const marker = "<!-- R24 example: rules/breaker_test.go decodes this block strictly and runs it -->\n```yaml\n"
	_, block, ok := strings.Cut(string(doc), marker)
	if !ok {
		t.Fatal("docs/rules.md: the R24 example's marker is missing")
	}
	block, _, ok = strings.Cut(block, "```")
	if !ok {
		t.Fatal("docs/rules.md: the R24 example's block is not closed")
	}
	dec := yaml.NewDecoder(bytes.NewReader([]byte(block)))
	dec.KnownFields(true)
	var specs []Spec
	if err := dec.Decode(&specs); err != nil {
		t.Fatalf("docs/rules.md R24 example: %v", err)
	}
	return specs
}

// breakerPoints are the points of a synthetic breaker profile.
var breakerPoints = map[string]string{"breaker": "", "trip_reason": ""}

func TestR24DocExampleValidates(t *testing.T) {
	specs := r24Doc(t)
	if len(specs) != 2 || specs[0].ID != "R24" || specs[0].Level != 2 || specs[1].ID != "R24b" || specs[1].Level != 3 {
		t.Fatalf("the example is %+v", specs)
	}
	for _, s := range specs {
		if errs := s.Validate(func(p string) bool { _, ok := breakerPoints[p]; return ok }); len(errs) > 0 {
			t.Errorf("%s: %v", s.ID, errs)
		}
		if s.Hazard != "breaker_tripped" || len(s.When) != 1 || len(s.When[0].All) != 2 {
			t.Errorf("%s decoded as %+v", s.ID, s)
		}
	}
}

// TestR24Breaker runs the docs' R24 example on a synthetic breaker, polled
// every second: breaker 240 closed, 15 open, 271 open and locally locked.
func TestR24Breaker(t *testing.T) {
	specs := r24Doc(t)
	cases := []struct {
		name, breaker, reason string
		want                  []string
	}{
		{"leakage trip opens level 2 at the first read, re-closing clears", "240 240 15 15 15 240 240", "0 0 2 2 2 2 2",
			[]string{"open R24 @2s L2 trip_reason=2", "clear R24 @5s L2"}},
		{"over-temperature while locally locked", "240 271 271 240", "0 3 3 3", []string{"open R24 @1s L2 trip_reason=3", "clear R24 @3s L2"}},
		{"overcurrent opens R24b at level 3", "240 15 15 240", "0 1 1 1", []string{"open R24b @1s L3 trip_reason=1", "clear R24b @3s L3"}},
		{"overload, over- and under-voltage are level 3", "15 240 15 240 15 240", "4 4 5 5 6 6",
			[]string{"open R24b @0s L3 trip_reason=4", "clear R24b @1s L3", "open R24b @2s L3 trip_reason=5", "clear R24b @3s L3",
				"open R24b @4s L3 trip_reason=6", "clear R24b @5s L3"}},
		{"a local (manual) open is logged only", "240 15 15 15 240", "0 0 0 0 0", nil},
		{"a remote open is logged only", "240 15 15 15 240", "2 7 7 7 7", nil},
		{"a closed breaker with a stale leakage reason is nothing", "240*5", "2*5", nil},
		{"NaN trip reason: nothing", "240 15 15 240", "0 NaN NaN NaN", nil},
		{"NaN trip reason neither clears", "15 15 240 240 240", "2 NaN NaN NaN 2", []string{"open R24 @0s L2 trip_reason=2", "clear R24 @4s L2"}},
		{"a missing or absent point neither fires nor clears", "15 - 15 240 a 240", "2 2 - 2 2 2",
			[]string{"open R24 @0s L2 trip_reason=2", "clear R24 @3s L2"}},
		{"a failed poll changes nothing", "15 _ 15 240", "2 2 2 2", []string{"open R24 @0s L2 trip_reason=2", "clear R24 @3s L2"}},
		{"leakage then overcurrent: two tickets", "15 15 240 15 240", "2 2 2 1 1",
			[]string{"open R24 @0s L2 trip_reason=2", "clear R24 @2s L2", "open R24b @3s L3 trip_reason=1", "clear R24b @4s L3"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := NewEngine([]DeviceRules{{Device: "brk-1", Specs: specs, Points: breakerPoints}})
			if err != nil {
				t.Fatal(err)
			}
			evs := runEach(e, series(t, "brk-1", base, time.Second, map[string]string{"breaker": c.breaker, "trip_reason": c.reason}, nil))
			var got []string
			for _, ev := range evs {
				s := fmt.Sprintf("%s L%d", summary([]Event{ev})[0], ev.Level)
				if ev.Kind == Open {
					s += fmt.Sprintf(" %s=%g", ev.Evidence.Point, *ev.Evidence.Value)
					if ev.Evidence.Snapshot["breaker"] == nil {
						t.Errorf("open without the breaker in its snapshot: %+v", ev.Evidence)
					}
				}
				if ev.Hazard != "breaker_tripped" {
					t.Errorf("hazard %q", ev.Hazard)
				}
				got = append(got, s)
			}
			if strings.Join(got, ", ") != strings.Join(c.want, ", ") {
				t.Fatalf("events:\n got  %q\n want %q", got, c.want)
			}
		})
	}
}
