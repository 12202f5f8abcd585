package profile

import (
	"strings"
	"testing"
)

func TestDeadband(t *testing.T) {
	for _, c := range []struct {
		text      string
		last, now float64
		want      bool
	}{
		{"10%", 300, 329, false},
		{"10%", 300, 330, true},
		{"10%", 300, 270, true},
		{"10%", 0, 0.05, false}, // a percentage of 0 is taken of 1 unit
		{"10%", 0, 0.1, true},
		{"2", 31.5, 33, false},
		{"2", 31.5, 33.5, true},
		{"", 1, 1000, false},
	} {
		d, err := ParseDeadband(c.text)
		if err != nil {
			t.Fatalf("%q: %v", c.text, err)
		}
		if got := d.Exceeded(c.last, c.now); got != c.want {
			t.Errorf("deadband %q: %v → %v exceeded = %v, want %v", c.text, c.last, c.now, got, c.want)
		}
	}
	for _, bad := range []string{"abc", "-1", "0", "NaN", "Inf", "150%", "%"} {
		if _, err := ParseDeadband(bad); err == nil {
			t.Errorf("deadband %q accepted", bad)
		}
	}
}

func TestDeadbandValidated(t *testing.T) {
	for _, c := range []struct{ point, want string }{
		{`{name: level, address: 0, unit: mA, deadband: ten}`, "points[0].deadband: \"ten\" is not a number"},
		{`{name: flags, address: 0, deadband: "5%"}`, "points[0].deadband: only a read analog point"},
		{`{name: level, address: 0, unit: mA, deadband: "5%"}`, ""},
	} {
		_, err := Parse("t.yaml", []byte("name: t\ncategory: electrical\npoints:\n  - "+c.point+"\n"))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.point, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: want an error containing %q, got %v", c.point, c.want, err)
		}
	}
}
