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
	Type   string `yaml:"type" json:"type"`     // threshold | status | offline | rate | creep | compound
	Level  int    `yaml:"level" json:"level"`   // 1..4; 0 means the hazard's default level

	// threshold: the largest (op above) or smallest (op below) good value
	// among Points is compared with the threshold; with op outside, the
	// value farthest outside Band.
	Points []string `yaml:"points,omitempty" json:"points,omitempty"`
	Op     string   `yaml:"op,omitempty" json:"op,omitempty"` // above (default) | below | outside
	// Band is the normal range of an op outside rule: a value below Low or
	// above High triggers (the edges are inside); the hysteresis moves both
	// clear edges inwards. R17: {low: 198, high: 235.4}.
	Band *Band `yaml:"band,omitempty" json:"band,omitempty"`
	// IgnoreBelow, when set, leaves a value at or below it out of the
	// comparison, like an absent one: it neither fires nor clears. R16: a
	// voltage ≤ 50 V is a dead supply, not an under-voltage.
	IgnoreBelow *float64 `yaml:"ignore_below,omitempty" json:"ignore_below,omitempty"`
	// Threshold is the constant limit, or the fallback when ThresholdPoint
	// is set but not (yet) read from the device.
	Threshold float64 `yaml:"threshold,omitempty" json:"threshold,omitempty"`
	// ThresholdPoint names a point holding the device's own setpoint
	// (read back); when it has a good value, it replaces Threshold.
	ThresholdPoint string `yaml:"threshold_point,omitempty" json:"threshold_point,omitempty"`
	// ThresholdParam names a device parameter (devices[].params, declared
	// in the profile's params:) whose value is the limit, resolved when
	// the engine is built (DeviceRules.Params: the configured value, else
	// the profile's default). It takes precedence over ThresholdPoint and
	// Threshold. When the device has no value for it, the rule falls back
	// to ThresholdPoint if set (the read-back, Threshold until read); else
	// it keeps only its When conditions (the device's own flag) as a
	// status rule; else it is not compiled on that device (Engine.Notes).
	// R13: threshold_param rated_current_a.
	ThresholdParam string `yaml:"threshold_param,omitempty" json:"threshold_param,omitempty"`
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

	// rate: the rule triggers when, for any of Points, the slope over any
	// of Slopes' windows reaches that item's Slope (and the point's value
	// its MinValue); it is normal when every slope of every point is below
	// ClearSlope (0: each item's Slope). Slopes are in the point's unit per
	// Per (0 = 1m): least squares over the window's good samples, with the
	// sample farthest from the line left out (robust to one outlier).
	Slopes     []SlopeCond   `yaml:"slopes,omitempty" json:"slopes,omitempty"`
	Per        time.Duration `yaml:"per,omitempty" json:"per,omitempty"`
	ClearSlope float64       `yaml:"clear_slope,omitempty" json:"clear_slope,omitempty"`

	// creep: a slow rise of each of Points, judged once a day on a nightly
	// baseline (R9). Threshold and ThresholdPoint are the limit a rising
	// baseline is projected to reach (an Escalation's CrossDays); the
	// confirm and clear windows count nights (min_samples: 2,
	// clear_samples: 7).
	Creep *Creep `yaml:"creep,omitempty" json:"creep,omitempty"`

	// compound: groups of other rules of the same device. The rule
	// triggers when every group has a member with an episode open, or
	// cleared less than Within ago, and at least one member is open now; it
	// is normal when no member is open. AllOf lists the groups; AnyOf is
	// one more group. R22: all_of [{any_of: [R7, R8]}, {any_of: [R10, R12]}].
	AnyOf  []string      `yaml:"any_of,omitempty" json:"any_of,omitempty"`
	AllOf  []RuleGroup   `yaml:"all_of,omitempty" json:"all_of,omitempty"`
	Within time.Duration `yaml:"within,omitempty" json:"within,omitempty"`

	// ClearOnReset (threshold rules with When): the device latches its
	// alarm bit until it is reset. An episode during which a When condition
	// held clears at the first poll on which every When condition is false
	// and the value is past the clear level (the device was reset), without
	// waiting for ClearFor and ClearSamples, which still apply to an
	// episode the value alone raised. R19: device reset, or 5 min without
	// bursts.
	ClearOnReset bool `yaml:"clear_on_reset,omitempty" json:"clear_on_reset,omitempty"`

	// When lists bit or value conditions (an `all` item combines several);
	// the rule's condition is true when any of them holds. For a status
	// rule they are the whole condition; on a threshold rule they are an
	// extra trigger ("or the device's alarm bit").
	When []BitCond `yaml:"when,omitempty" json:"when,omitempty"`

	For          time.Duration `yaml:"for,omitempty" json:"for,omitempty"`
	MinSamples   int           `yaml:"min_samples,omitempty" json:"min_samples,omitempty"`
	ClearFor     time.Duration `yaml:"clear_for,omitempty" json:"clear_for,omitempty"`
	ClearSamples int           `yaml:"clear_samples,omitempty" json:"clear_samples,omitempty"`

	// TestMode is the device's test-mode condition (smoke detector status
	// bit0 test mode, or fault_detail bit7 self-test running; GB/T 45839
	// 5.8.4): one point's condition, or an `any` list of them, each judged
	// on its point's latest good value.
	// While it holds, what would open an episode emits one Test event (a
	// test episode, never a real ticket; it ends silently when its condition
	// clears or test mode ends), and an open real episode is frozen: it
	// neither clears nor escalates on readings taken in test mode.
	TestMode *BitCond `yaml:"test_mode,omitempty" json:"test_mode,omitempty"`

	// Escalate lists the graded levels of one episode (DESIGN §8.2): a
	// worsening condition raises the level of the open ticket (an Escalate
	// event, same TicketID), never opens a second one. Levels only go up
	// within an episode; the clear still follows the rule's own hysteresis.
	Escalate []Escalation `yaml:"escalate,omitempty" json:"escalate,omitempty"`

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

// Band is a closed normal range [Low, High].
type Band struct {
	Low  float64 `yaml:"low" json:"low"`
	High float64 `yaml:"high" json:"high"`
}

// Creep is the baseline of a creep rule (R9, DESIGN §8.3). Each night, the
// median of a point's good samples in the Night window (local time of the
// site) is that night's baseline; a night whose samples are fewer than 10
// or span less than half the window has none (missing data). After each
// night the rule triggers when the baseline is at least MinBaseline and
// either its least-squares slope over the last SlopeDays nights is at
// least Slope per day, or it is at least Ratio times the median of the
// baselines of the previous RatioDays nights. It is normal when neither
// holds (and at least one could be computed: a slope needs half of
// SlopeDays' nights, at least 3; a ratio a quarter of RatioDays', at
// least 3); else unknown. Memory is bounded: one baseline a night, at most
// max(SlopeDays, RatioDays)+1 of them, and a constant-size median
// estimate for the night in progress.
type Creep struct {
	Night       string  `yaml:"night" json:"night"`                                   // "02:00-05:00", local time, not across midnight
	UTCOffset   string  `yaml:"utc_offset,omitempty" json:"utc_offset,omitempty"`     // the site's offset from UTC, "+08:00" (default: China Standard Time)
	Slope       float64 `yaml:"slope,omitempty" json:"slope,omitempty"`               // per day; 0: no slope condition
	SlopeDays   int     `yaml:"slope_days,omitempty" json:"slope_days,omitempty"`     // 0 = 7
	Ratio       float64 `yaml:"ratio,omitempty" json:"ratio,omitempty"`               // 0: no ratio condition; else > 1
	RatioDays   int     `yaml:"ratio_days,omitempty" json:"ratio_days,omitempty"`     // 0 = 30
	MinBaseline float64 `yaml:"min_baseline,omitempty" json:"min_baseline,omitempty"` // both conditions need a baseline at least this
}

// RuleGroup is one group of a compound rule: any of its rule ids.
type RuleGroup struct {
	AnyOf []string `yaml:"any_of" json:"any_of"`
}

// SlopeCond is one alternative of a rate rule: the slope over Window is
// at least Slope and, with MinValue, the point's value at least MinValue.
// A slope needs Samples good samples (0 = 5, at least 3) in the window,
// spanning at least half of it; with fewer it is unknown (missing data).
type SlopeCond struct {
	Window   time.Duration `yaml:"window" json:"window"`
	Slope    float64       `yaml:"slope" json:"slope"`
	MinValue *float64      `yaml:"min_value,omitempty" json:"min_value,omitempty"`
	Samples  int           `yaml:"samples,omitempty" json:"samples,omitempty"`
}

// Escalation is one step of a rule's grading: the episode's level becomes
// Level (more urgent than the rule's own) while its condition holds. The
// condition is either a value step or IfOpen.
//
// A value step (threshold rules): the rule's value is past the step limit,
// the rule's effective limit × ThresholdFactor (0 = 1) + ThresholdOffset,
// on MinSamples consecutive polls spanning For. R13: threshold_factor 1.05,
// for 60s. Bit conditions never escalate.
//
// IfOpen: any of these rules (ids of the same device) has a real episode
// open. R12: level 1 if_open [R7, R10, R13].
//
// CrossDays (creep rules): at the latest baseline, the baseline's slope
// projects it to reach the rule's limit (Threshold, or the read-back
// ThresholdPoint) in fewer than CrossDays days, or it is there already.
// R9: level 2 when the setpoint is less than 14 days away.
//
// Count with Within: this episode is at least the Count-th the rule has
// opened on the device within Within (counting this one). R19: level 1
// for the third arc-fault episode in 24 h.
type Escalation struct {
	Level           int           `yaml:"level" json:"level"`
	ThresholdFactor float64       `yaml:"threshold_factor,omitempty" json:"threshold_factor,omitempty"`
	ThresholdOffset float64       `yaml:"threshold_offset,omitempty" json:"threshold_offset,omitempty"`
	For             time.Duration `yaml:"for,omitempty" json:"for,omitempty"`
	MinSamples      int           `yaml:"min_samples,omitempty" json:"min_samples,omitempty"`
	IfOpen          []string      `yaml:"if_open,omitempty" json:"if_open,omitempty"`
	CrossDays       float64       `yaml:"cross_days,omitempty" json:"cross_days,omitempty"`
	Count           int           `yaml:"count,omitempty" json:"count,omitempty"`
	Within          time.Duration `yaml:"within,omitempty" json:"within,omitempty"`
}

// BitCond is one condition of a rule's `when` list (or its test mode).
// It sets exactly one of:
//
//   - Bits: any of these bits is set in Point's value;
//   - Equals / NotEquals: Point equals (differs from) the value;
//   - NotEqualsParam: Point differs from a device parameter's value
//     (resolved like Spec.ThresholdParam; compared with a relative
//     tolerance of 1e-6, so a setpoint read back through a scale or a
//     float32 register matches its configured value). A condition whose
//     parameter has no value on the device is left out there. R26: the
//     read-back setpoints against the configured ones. Not inside All nor
//     in TestMode;
//   - In: Point equals one of the values (R24: a trip reason in [2, 3]);
//   - Above / Below: Point is strictly above (below) the value;
//   - All: every nested condition holds, each on its own point (R18:
//     one phase below 50 V while the other two are above 180 V). Point is
//     not set; the nested conditions may not nest further. The rule's
//     evidence is the first nested condition's point.
//   - Any: in test_mode only, any of the nested one-point conditions
//     holds (test mode or self-test running). A `when` list is already
//     any-of.
//
// A condition whose point (or any nested condition's point) is missing
// from the poll, absent or bad is unknown: it neither fires nor clears.
type BitCond struct {
	Point     string   `yaml:"point,omitempty" json:"point,omitempty"`
	Bits      []int    `yaml:"bits,omitempty" json:"bits,omitempty"`
	Equals    *float64 `yaml:"equals,omitempty" json:"equals,omitempty"`
	NotEquals *float64 `yaml:"not_equals,omitempty" json:"not_equals,omitempty"`
	// NotEqualsParam: see above.
	NotEqualsParam string    `yaml:"not_equals_param,omitempty" json:"not_equals_param,omitempty"`
	In             []float64 `yaml:"in,omitempty" json:"in,omitempty"`
	Above          *float64  `yaml:"above,omitempty" json:"above,omitempty"`
	Below          *float64  `yaml:"below,omitempty" json:"below,omitempty"`
	All            []BitCond `yaml:"all,omitempty" json:"all,omitempty"`
	Any            []BitCond `yaml:"any,omitempty" json:"any,omitempty"`
}
