// Package rules decides, from device polls, when a hazard episode opens
// and when it clears. It is pure: polls and time in, events out; it uses
// the standard library only, starts no goroutines, does no I/O and never
// reads the clock (every time comes from a Poll, or from the now argument).
//
// # Pipeline
//
// A profile's or the config's rule text decodes into [Spec]. [NewEngine]
// validates every Spec ([Spec.Validate]) and compiles it once against the
// device's point table: point names become slot indices, bit lists become
// masks, the rule type picks its evaluation function. [Engine.Step] then
// runs each [Poll] through the compiled rules of its device and returns
// [Event] values in time order. The gateway commits them to the outbox;
// the ticket builder adds the labels from the catalog ([LookupHazard]).
//
// # One poll, one observation
//
// Each rule reduces a poll to one of four observations:
//
//   - trigger: the condition holds. A threshold rule compares the largest
//     (op above, value ≥ limit) or smallest (op below, value ≤ limit) good
//     value of its points with the limit; any of its When conditions is an
//     extra trigger. A status rule is its When conditions alone. An
//     offline rule sees a failed poll as trigger. A rate rule and a
//     compound rule: see below.
//   - normal: the condition has ended: the value is past the clear level
//     (limit − hysteresis, mirrored for below) and no When condition holds,
//     every When point having been read in this poll.
//     An offline rule sees a good poll as normal.
//   - band: the value is between the clear level and the limit. A band
//     sample resets both the pending open run and the pending clear run:
//     that is hysteresis. An episode that only a bit condition raised (the
//     value never reached the limit) clears when the bit drops: for it, the
//     band counts as normal.
//   - unknown: missing data. A failed poll, a point missing from the poll,
//     an Absent reading, or a bad one (Quality Bad, NaN or ±Inf: a decoder
//     fault, counted by [Engine.BadReadings]) neither advances nor resets
//     any run. Missing
//     data never opens and never clears. Absent points are left out of a
//     threshold rule's comparison (an unwired channel); a missing point
//     can still let the others trigger, but never lets them look normal.
//
// Op outside compares the value farthest outside Band with the nearer
// edge (edges inside; the hysteresis moves both clear edges inwards).
// IgnoreBelow leaves a value at or below it out, like an absent one.
//
// The limit is Threshold, or the device's own setpoint (the latest good
// value of ThresholdPoint, read back from the device) when there is one,
// or a device parameter (ThresholdParam, bound from DeviceRules.Params when
// the engine is built: a rule without its parameter falls back, runs on
// its When conditions alone, or is left out, see Engine.Notes), times
// ThresholdFactor (0 = 1), plus ThresholdOffset. The hysteresis is
// Hysteresis (absolute) or HysteresisPct percent of the limit.
//
// # Debounce and episodes
//
// An inactive rule opens after a run of consecutive trigger observations
// with at least MinSamples samples (at least 1) spanning at least For.
// An open rule clears after a run of normal observations with at least
// ClearSamples samples spanning at least ClearFor. Event.At is the first
// sample of the run that completed: when the condition (or its end) was
// first observed, not when the event was decided.
//
// One episode per (device, rule): it opens once and clears once. Its
// TicketID is "<device>/<rule>/<open At in UTC, 20060102T150405.000>",
// the same on the clear. Level is Spec.Level, else the hazard's default.
// OccurrenceCount is 1 (the episode keeps its own count for later repeats).
// Events of one (device, rule) never go back in time, even when the clock
// does. Events of different rules of one device may: At is backdated to
// the start of each rule's own run, and runs differ in length.
//
// # Grading
//
// A rule's Escalate steps raise the level of its open episode (DESIGN
// §8.2): a value step when the rule's value has been past the rule's
// limit × ThresholdFactor + ThresholdOffset for its own For and
// MinSamples (R13: > 105 % of rated for 60 s → level 2), an IfOpen step
// while another rule of the device has a real episode open (R12: level 1
// with R7, R10 or R13), a Count step when the episode is the rule's
// Count-th within Within (R19: the third in 24 h), a CrossDays step on a
// creep rule's projection (R9). The episode then emits Escalate: same TicketID,
// the new Level, At when the step's condition was first observed (no
// earlier than the rule's previous event). A step already met when the
// rule opens makes it open at that level: one Open, no Escalate. Levels
// never go down within an episode, and the Clear carries the episode's
// level; the clear itself follows the rule's hysteresis as before.
//
// # Rate of rise
//
// A rate rule keeps, per point, a ring of recent good samples: at most
// one per (shortest window / 30) and at most 256, so memory is bounded
// whatever the poll interval. For each point and each SlopeCond it fits
// a least-squares line to the samples of the window, leaves out the one
// sample farthest from the line (so one spike never fires: a robust fit
// at O(n), where Theil–Sen would cost O(n²) per poll) and refits. A slope
// needs Samples samples spanning half the window; else it is unknown.
// Slopes are cached per point and window and refitted only when a sample
// is stored or leaves the window.
//
//   - trigger: some point's slope reaches a SlopeCond's Slope, and its
//     value in this poll its MinValue. The evidence is the largest such
//     slope, its unit "<unit>/min", its threshold that Slope.
//   - unknown: otherwise, when a point is missing or a slope unknown.
//   - band: some slope is at or above ClearSlope.
//   - normal: every slope of every point is below ClearSlope.
//
// Absent points are left out; a back-online device or a clock step back
// empties the rings, so slopes are judged from fresh samples only.
//
// # Creep
//
// A creep rule (R9) keeps, per point, a P² median estimate of the good
// samples of the night in progress (Night, in the site's UTCOffset) and a
// ring of one baseline per night, at most max(SlopeDays, RatioDays)+1.
// The poll that ends a night (the first at or after its end, or on a
// later day) turns a night with at least 10 samples spanning half its
// window into a baseline and judges it: trigger when the baseline reaches
// MinBaseline and its least-squares slope over SlopeDays nights reaches
// Slope, or it is Ratio times the median of the previous RatioDays
// nights; normal when neither holds and one could be judged; unknown on
// every other poll, so MinSamples and ClearSamples count nights. A night
// not after the newest baseline (the clock stepped back) is dropped. A
// CrossDays step grades on the days the slope needs to carry the baseline
// to the rule's limit.
//
// # Compound rules
//
// A compound rule looks at other rules of the same device: groups of
// rule ids, (R7|R8) & (R10|R12) for R22. It is trigger when every group
// has a member with a real episode open, or cleared less than Within
// ago, and some member is open now; band when a member is open but a
// group is not recent; normal when no member is open. Within one poll the
// member rules are stepped first (spec order), then the compound rules,
// then every escalation, so the outcome does not depend on the order of
// the specs. Member ids are resolved by NewEngine: an unknown id is an
// error naming the rule and the key.
//
// # Test mode
//
// A rule with TestMode (the smoke detector's status bit0) judges the
// condition on the point's latest good value. While it holds, a
// transition that would open emits one Test event and starts a test
// episode (not in Open, no Escalate, no Clear: it ends silently when its
// condition clears or test mode ends), and an open real episode is
// frozen as on missing data. When test mode ends, a condition that still
// holds opens a real episode after its normal debounce. Test episodes do
// not count as open for compound rules or IfOpen steps (GB/T 45839 5.8.4).
//
// TestMode may list several conditions with Any (the smoke detector's
// status bit0 test mode or fault_detail bit7 self-test running): test
// mode holds while any of them does, so a self-test press that raises the
// fire bit is a test, not a fire.
//
// # Device state and 屏蔽
//
// Every event carries After, its device's state once it has happened: the
// worst Condition among the device's open real episodes (alarm > fault >
// disabled > normal; HazardInfo.Condition). Step sets it in the order it
// returns the events, starting from the device's state when Step returns
// and undoing each event backwards, so the last event of a device always
// carries the device's current state ([Engine.Condition]).
//
// A rule of a disabled-condition hazard (detector_disabled, the smoke
// detector's status bit3) opens and clears like any other. While one is
// open on a device, no other episode of that device clears: a normal
// observation restarts its clear run and counts as missing data, so its
// clear is judged afresh, with its full clear window, once the device is
// enabled again. Opens and escalations go on (nothing hides a fire), and
// offline rules are not held (they say whether the device answers, and
// their clear is what lets the device's rules be judged again).
//
// # Setpoints
//
// A threshold rule whose limit derives from a setpoint (ThresholdPoint, or
// a ThresholdFactor) has no limit while that setpoint reads 0 or less or
// absent (or, with a factor and no point, Threshold is 0): its value
// neither fires nor clears, its bit conditions still do. A ThresholdPoint
// not read yet falls back to Threshold.
//
// # Offline devices
//
// An offline rule opens after Failures (default 3) consecutive failed
// polls spanning at least For, and clears after ClearSamples (default 3)
// consecutive good polls. While it is open the device's other rules are
// frozen: their open episodes stay open and nothing is emitted for them.
// When the device is back, their pending runs restart, so they are judged
// from fresh readings only.
//
// # Clock
//
// A poll that is not later than the previous poll of its device (the
// clock was stepped back) counts as missing data and restarts the
// device's pending runs; later polls are judged from the new time, but
// the device's event times are held at the latest time seen before the
// step until the clock passes it again, so its events stay in order. A
// restarted gateway calls [Engine.Restore] with the episodes the outbox
// knows are open, so it continues them rather than opening them again.
//
// # Evidence
//
// An event's Evidence names the point and value that decided it, its
// unit, the effective limit (threshold rules), the window ("10s/3
// samples"), the device's latched "<point>_at_alarm" value when the poll
// has one, and a Snapshot of the device's other latest points (nil for an
// Absent one). Offline events carry the window only: the values are stale.
package rules
