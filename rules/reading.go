package rules

import "time"

// Quality says how far a reading can be trusted.
type Quality uint8

const (
	// Good is a value the device reported and the profile decoded.
	Good Quality = iota
	// Absent is a value equal to one of the point's `absent` sentinels
	// (an unwired channel). It feeds no rule and clears nothing.
	Absent
	// Bad is a value that cannot be trusted (a decoder fault). The engine
	// also takes every NaN or infinite value as Bad, whatever its Quality.
	// Like missing data, it never opens, clears or resets anything.
	Bad
)

// String returns "good", "absent" or "bad".
func (q Quality) String() string {
	switch q {
	case Absent:
		return "absent"
	case Bad:
		return "bad"
	}
	return "good"
}

// Reading is one decoded point value of one device.
type Reading struct {
	Point   string
	Value   float64
	Unit    string
	Quality Quality
}

// Poll is the outcome of one sweep over one device: either OK with its
// readings, or failed (timeout, CRC, exception, link down) with Err set.
// At is when the answer (or the failure) was observed.
type Poll struct {
	Device   string
	At       time.Time
	OK       bool
	Err      string
	Readings []Reading
}
