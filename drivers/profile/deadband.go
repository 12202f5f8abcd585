package profile

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Deadband is how far a point's value must move from the value last
// reported before telemetry reports it by exception (DESIGN §5
// telemetry): an absolute amount in the point's unit ("5") or a share of
// the last reported value ("10%"). The zero value never reports.
type Deadband struct {
	Amount  float64
	Percent bool
}

// ParseDeadband reads a profile's `deadband` text: "" (none), a
// non-negative number in the point's unit, or a percentage "0.1%".."100%".
func ParseDeadband(s string) (Deadband, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Deadband{}, nil
	}
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, "%")), 64)
	switch {
	case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
		return Deadband{}, fmt.Errorf("%q is not a number or a percentage (e.g. 5 or 10%%)", s)
	case v <= 0:
		return Deadband{}, fmt.Errorf("%q must be positive", s)
	case pct && v > 100:
		return Deadband{}, fmt.Errorf("%q is over 100%%", s)
	}
	return Deadband{Amount: v, Percent: pct}, nil
}

// Exceeded reports whether now has moved past the deadband around last.
// A percentage of a last value of 0 is taken of 1 unit, so a value that
// leaves zero is reported once it moves by the percentage of one unit.
func (d Deadband) Exceeded(last, now float64) bool {
	if d.Amount <= 0 {
		return false
	}
	band := d.Amount
	if d.Percent {
		band = d.Amount / 100 * max(math.Abs(last), 1)
	}
	return math.Abs(now-last) >= band
}

// DeadbandOf returns the point's parsed deadband (the profile was
// validated, so an unparsable one reads as none).
func (pt *Point) DeadbandOf() Deadband {
	d, _ := ParseDeadband(pt.Deadband)
	return d
}

// Telemetry reports whether the point is a measured analog value that
// telemetry carries: read (not a setpoint or command), a number with a
// unit, not a status word or a bit.
func (pt *Point) Telemetry() bool {
	return pt.Access == "r" && len(pt.Bits) == 0 && pt.Type != "bit" && pt.Unit != ""
}
