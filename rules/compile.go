package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// window is a debounce requirement: at least n consecutive samples
// spanning at least dur.
type window struct {
	dur time.Duration
	n   int
}

// met reports whether a run of n samples that started at since and whose
// latest sample is at meets w.
func (w window) met(n int, since, at time.Time) bool {
	return n >= max(w.n, 1) && at.Sub(since) >= w.dur
}

// String is the evidence window: "10s/3 samples", "60s", "1 sample".
func (w window) String(unit string) string {
	n := max(w.n, 1)
	count := fmt.Sprintf("%d %s", n, unit)
	if n == 1 {
		count = strings.TrimSuffix(count, "s")
	}
	switch {
	case w.dur > 0 && n > 1:
		return shortDuration(w.dur) + "/" + count
	case w.dur > 0:
		return shortDuration(w.dur)
	}
	return count
}

// shortDuration prints 60s as "60s", 5m as "5m", 24h as "24h", 90s as "90s".
func shortDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0 && d > 2*time.Minute:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}

// evalFunc reduces the current poll of a device to one observation for
// rule state st. It is chosen once per rule at compile time.
type evalFunc func(st *ruleState, d *device) observation

// rule is a compiled Spec bound to one device's point slots.
type rule struct {
	id, hazard string
	level      int
	offline    bool
	eval       evalFunc

	points      []int // slots compared with the limit
	atAlarm     []int // slot of "<point>_at_alarm" per point, -1 if none
	sign        float64
	band        *[2]float64 // op outside: the normal range [low, high]
	ignoreBelow *float64    // values at or below are left out
	threshold   float64
	limitPt     int // slot of ThresholdPoint, -1 if none
	factor      float64
	offset      float64
	hyst        float64 // absolute; 0: use hystPct
	hystPct     float64
	when        []bitCond
	steps       []escStep // escalation, in spec order
	rate        *rateRule // rate rules only
	compound    *compoundRule
	creep       *creepRule // creep rules only
	testMode    []bitCond  // any of them holds: test mode; nil: the rule has none
	resetClear  bool       // Spec.ClearOnReset
	cond        Condition  // what an open episode says of the device (HazardInfo)
	compType    int        // GB/T 26875.3 component type of the hazard; 0: the device's
	unitSuffix  string     // appended to the point's unit in evidence ("/min")

	open, clear             window
	openWindow, clearWindow string
}

// OfflineFailures is the one definition of "offline": this many
// consecutive failed polls. It is the default failure count of an offline
// rule (R21, DESIGN §8.3), and the gateway's health view (the scheduler's
// sched.OfflineAfter, the daemon's logs and metrics, the API's
// devices[].online) uses the same count, so a device is never shown
// online while R21 has already counted it out.
const OfflineFailures = 3

// Defaults of an offline rule (R21).
const (
	defaultFailures          = OfflineFailures
	defaultOfflineClearPolls = 3
)

// compile binds s to d. s must be valid.
func compile(s *Spec, d *device) *rule {
	h, _ := LookupHazard(s.Hazard)
	r := &rule{
		id: s.ID, hazard: s.Hazard, level: cmp.Or(s.Level, h.Level), limitPt: -1, sign: 1,
		threshold: s.Threshold, factor: s.ThresholdFactor, offset: s.ThresholdOffset,
		hyst: s.Hysteresis, hystPct: s.HysteresisPct,
		open:  window{s.For, s.MinSamples},
		clear: window{s.ClearFor, s.ClearSamples},
	}
	if r.factor == 0 {
		r.factor = 1
	}
	switch s.Op {
	case "below":
		r.sign = -1
	case "outside":
		r.band = &[2]float64{s.Band.Low, s.Band.High}
	}
	r.ignoreBelow = s.IgnoreBelow
	if s.ThresholdPoint != "" {
		r.limitPt = d.slotOf(s.ThresholdPoint)
	}
	for _, p := range s.Points {
		r.points = append(r.points, d.slotOf(p))
		r.atAlarm = append(r.atAlarm, d.slotOf(p+"_at_alarm"))
	}
	for _, w := range s.When {
		r.when = append(r.when, compileBits(w, d))
	}
	r.steps = compileSteps(s)
	r.cond, r.compType = h.Condition, h.ComponentType
	r.resetClear = s.ClearOnReset && s.Type == TypeThreshold && len(s.When) > 0
	if s.TestMode != nil {
		if s.TestMode.Any != nil {
			for _, n := range s.TestMode.Any {
				r.testMode = append(r.testMode, compileBits(n, d))
			}
		} else {
			r.testMode = []bitCond{compileBits(*s.TestMode, d)}
		}
	}
	r.setWindows(r.setKind(s))
	return r
}

// setKind picks r's evaluation by s.Type and returns the unit its open
// window counts.
func (r *rule) setKind(s *Spec) (unit string) {
	unit = "samples"
	switch s.Type {
	case TypeThreshold:
		r.eval = evalThreshold
	case TypeStatus:
		r.eval = evalStatus
	case TypeRate:
		r.eval, r.rate = evalRate, compileRate(s)
		r.unitSuffix = perUnit(r.rate.per)
		r.atAlarm = slices.Repeat([]int{-1}, len(r.points)) // a latched value is no slope
	case TypeCompound:
		r.eval, r.compound = evalCompound, compileCompound(s)
	case TypeCreep:
		r.eval, r.creep = evalCreep, compileCreep(s)
		r.atAlarm = slices.Repeat([]int{-1}, len(r.points)) // a latched value is no baseline
		unit = "nights"
	case TypeOffline:
		r.offline = true
		r.open.n = cmp.Or(s.Failures, defaultFailures)
		r.clear.n = cmp.Or(s.ClearSamples, defaultOfflineClearPolls)
		unit = "failed polls"
	}
	return unit
}

// setWindows sets the evidence windows of r; unit counts its open samples.
func (r *rule) setWindows(unit string) {
	r.openWindow, r.clearWindow = r.open.String(unit), r.clear.String("samples")
	switch {
	case r.offline:
		r.clearWindow = r.clear.String("good polls")
	case r.rate != nil:
		r.openWindow = r.rate.window(r.open)
	case r.compound != nil:
		r.openWindow, r.clearWindow = r.compound.window(), "members clear"
	case r.creep != nil:
		r.openWindow, r.clearWindow = r.creep.window(r.open), r.creep.window(r.clear)
	}
}

// limitOf returns the effective limit and its hysteresis on device d. ok
// is false when the rule's limit derives from a setpoint (ThresholdPoint,
// or a ThresholdFactor: "70 % of the setpoint") and that setpoint is 0 or
// less, or reads absent: a ratio of nothing is no limit, and every value
// would be at or above it (R2 on a device whose alarm threshold reads 0).
// A ThresholdPoint not read yet falls back to Threshold.
func (r *rule) limitOf(d *device) (limit, hyst float64, ok bool) {
	base := r.threshold
	if v, good := d.latestGood(r.limitPt); good {
		base = v
	} else if r.limitPt >= 0 && d.slots[r.limitPt].latestS == absent {
		return 0, 0, false
	}
	if (r.limitPt >= 0 || r.factor != 1) && !(base > 0) {
		return 0, 0, false
	}
	limit = base*r.factor + r.offset
	hyst = r.hyst
	if hyst == 0 {
		hyst = r.hystPct / 100 * abs(limit)
	}
	return limit, hyst, true
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
