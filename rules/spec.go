package rules

import "time"

// Spec is one rule as written in a profile's `rules:` list or in the
// config's `rules:` section. The YAML keys are part of the config contract
// (docs/config.md). Durations are Go durations ("10s", "5m").
//
// A rule evaluates a condition on every good poll of a device. It opens
// when the condition has held for at least For and on at least MinSamples
// consecutive polls; it clears when the clear condition (the trigger minus
// its hysteresis) has held for ClearFor and ClearSamples consecutive polls.
// Absent values and failed polls change nothing (missing data never clears).
type Spec struct {
	ID     string `yaml:"id" json:"id"`         // "R7"; unique per device after merging
	Hazard string `yaml:"hazard" json:"hazard"` // code from Hazards
	Type   string `yaml:"type" json:"type"`     // threshold | status | offline
	Level  int    `yaml:"level" json:"level"`   // 1..4; 0 means the hazard's default level

	// threshold: the largest (op above) or smallest (op below) good value
	// among Points is compared with the threshold.
	Points []string `yaml:"points,omitempty" json:"points,omitempty"`
	Op     string   `yaml:"op,omitempty" json:"op,omitempty"` // above (default) | below
	// Threshold is the constant limit, or the fallback when ThresholdPoint
	// is set but not (yet) read from the device.
	Threshold float64 `yaml:"threshold,omitempty" json:"threshold,omitempty"`
	// ThresholdPoint names a point holding the device's own setpoint
	// (read back); when it has a good value, it replaces Threshold.
	ThresholdPoint string `yaml:"threshold_point,omitempty" json:"threshold_point,omitempty"`
	// ThresholdFactor multiplies the limit (0.7 = "70 % of the setpoint");
	// 0 means 1.
	ThresholdFactor float64 `yaml:"threshold_factor,omitempty" json:"threshold_factor,omitempty"`
	// ThresholdOffset is added to the limit after the factor
	// ("setpoint - 10 °C" is offset -10).
	ThresholdOffset float64 `yaml:"threshold_offset,omitempty" json:"threshold_offset,omitempty"`
	// Hysteresis (absolute, in the point's unit) or HysteresisPct (percent
	// of the limit) moves the clear level back from the limit.
	Hysteresis    float64 `yaml:"hysteresis,omitempty" json:"hysteresis,omitempty"`
	HysteresisPct float64 `yaml:"hysteresis_pct,omitempty" json:"hysteresis_pct,omitempty"`

	// When lists bit or value conditions; the rule's condition is true when
	// any of them holds. For a status rule they are the whole condition; on
	// a threshold rule they are an extra trigger ("or the device's alarm bit").
	When []BitCond `yaml:"when,omitempty" json:"when,omitempty"`

	For          time.Duration `yaml:"for,omitempty" json:"for,omitempty"`
	MinSamples   int           `yaml:"min_samples,omitempty" json:"min_samples,omitempty"`
	ClearFor     time.Duration `yaml:"clear_for,omitempty" json:"clear_for,omitempty"`
	ClearSamples int           `yaml:"clear_samples,omitempty" json:"clear_samples,omitempty"`

	// offline: Failures consecutive failed polls spanning at least For
	// open the hazard; ClearSamples good polls clear it.
	Failures int `yaml:"failures,omitempty" json:"failures,omitempty"`

	// Targeting, for rules in the config's `rules:` section only: which
	// devices or profiles the rule applies to (empty: all devices). A config
	// rule with the same ID as a profile rule replaces it for its targets.
	Devices  []string `yaml:"devices,omitempty" json:"devices,omitempty"`
	Profiles []string `yaml:"profiles,omitempty" json:"profiles,omitempty"`
	Disabled bool     `yaml:"disabled,omitempty" json:"disabled,omitempty"`
}

// BitCond is true when any of Bits is set in Point's value, or, with
// Equals, when Point equals it (or, with NotEquals, differs from it).
type BitCond struct {
	Point     string   `yaml:"point" json:"point"`
	Bits      []int    `yaml:"bits,omitempty" json:"bits,omitempty"`
	Equals    *float64 `yaml:"equals,omitempty" json:"equals,omitempty"`
	NotEquals *float64 `yaml:"not_equals,omitempty" json:"not_equals,omitempty"`
}
