package rules

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Defaults and bounds of a creep rule (R9).
const (
	defaultSlopeDays = 7
	defaultRatioDays = 30
	maxCreepDays     = 60
	minNightSamples  = 10
	secondsPerDay    = 86400
	// DefaultUTCOffset is the site offset a creep rule uses when it sets
	// none: China Standard Time (Asia/Shanghai, no daylight saving).
	DefaultUTCOffset = "+08:00"
)

// creepRule is the compiled part of a creep rule.
type creepRule struct {
	from, to    int64 // night window, seconds after local midnight
	offset      int64 // seconds east of UTC
	slope       float64
	slopeDays   int
	ratio       float64
	ratioDays   int
	minBaseline float64
	capacity    int // baselines kept per point
}

// baseline is one night's median of one point.
type baseline struct {
	day int64 // local day number (days since 1970-01-01, local time)
	v   float64
}

// creepPoint is the state of one point of a creep rule: the night in
// progress and the recent baselines. Its size is fixed once compiled.
type creepPoint struct {
	est         p2
	night       int64 // local day of the night in progress
	first, last int64 // unix seconds of its first and latest sample
	days        []baseline
	head, n     int // ring of days: next write, count
}

// creepVerdict is the rule's judgement after its latest baseline.
type creepVerdict struct {
	known    bool
	at       time.Time // the poll that completed the night
	cross    float64   // days until the baseline reaches the limit (+Inf: never)
	slope    float64
	hasSlope bool
}

// parseNight parses "HH:MM-HH:MM" into seconds after midnight.
func parseNight(s string) (from, to int64, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not HH:MM-HH:MM", s)
	}
	ta, errA := time.Parse("15:04", strings.TrimSpace(a))
	tb, errB := time.Parse("15:04", strings.TrimSpace(b))
	if errA != nil || errB != nil {
		return 0, 0, fmt.Errorf("%q is not HH:MM-HH:MM", s)
	}
	from, to = int64(ta.Hour()*3600+ta.Minute()*60), int64(tb.Hour()*3600+tb.Minute()*60)
	if from >= to {
		return 0, 0, fmt.Errorf("%q must start before it ends, within one day (02:00-05:00)", s)
	}
	return from, to, nil
}

// parseOffset parses "+08:00", "-05:30" or "Z" into seconds east of UTC.
func parseOffset(s string) (int64, error) {
	if s == "" {
		s = DefaultUTCOffset
	}
	t, err := time.Parse("Z07:00", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not an offset like +08:00", s)
	}
	_, off := t.Zone()
	return int64(off), nil
}

func compileCreep(s *Spec) *creepRule {
	c := s.Creep
	cr := &creepRule{slope: c.Slope, ratio: c.Ratio, minBaseline: c.MinBaseline,
		slopeDays: cmp0(c.SlopeDays, defaultSlopeDays), ratioDays: cmp0(c.RatioDays, defaultRatioDays)}
	cr.from, cr.to, _ = parseNight(c.Night)
	cr.offset, _ = parseOffset(c.UTCOffset)
	cr.capacity = max(cr.slopeDays, cr.ratioDays) + 1
	return cr
}

// window is the evidence window of an open or a clear.
func (cr *creepRule) window(w window) string {
	var conds []string
	if cr.slope > 0 {
		conds = append(conds, fmt.Sprintf("%d-night slope", cr.slopeDays))
	}
	if cr.ratio > 0 {
		conds = append(conds, fmt.Sprintf("%g × %d-night median", cr.ratio, cr.ratioDays))
	}
	return fmt.Sprintf("night median %02d:%02d-%02d:%02d UTC%s, %s, %s", cr.from/3600, cr.from%3600/60,
		cr.to/3600, cr.to%3600/60, offsetString(cr.offset), strings.Join(conds, " or "), w.String("nights"))
}

func offsetString(off int64) string {
	return time.Unix(0, 0).In(time.FixedZone("", int(off))).Format("-07:00")
}

func newCreepPoints(cr *creepRule, n int) []creepPoint {
	ps := make([]creepPoint, n)
	for i := range ps {
		ps[i].days = make([]baseline, cr.capacity)
	}
	return ps
}

// push stores a baseline; a night not after the newest one (the clock was
// stepped back) is dropped.
func (p *creepPoint) push(b baseline) bool {
	if p.n > 0 && b.day <= p.newest().day {
		return false
	}
	p.days[p.head] = b
	p.head = (p.head + 1) % len(p.days)
	p.n = min(p.n+1, len(p.days))
	return true
}

// at returns the k-th newest baseline.
func (p *creepPoint) at(k int) baseline {
	i := p.head - 1 - k
	if i < 0 {
		i += len(p.days)
	}
	return p.days[i]
}

func (p *creepPoint) newest() baseline { return p.at(0) }

// evalCreep feeds the poll's good values to the night estimates. It is
// unknown on every poll but those that complete a night, once a day: then
// each point's new baseline is judged, and the rule triggers when any
// point's does, is normal when every point's is judged normal.
func evalCreep(st *ruleState, d *device) observation {
	cr, at := st.r.creep, d.lastAt
	sec := at.Unix()
	local := sec + cr.offset
	day, tod := floorDiv(local, secondsPerDay), local-floorDiv(local, secondsPerDay)*secondsPerDay
	out := observation{class: unknown, point: -1}
	judged := 0
	for i, pt := range st.r.points {
		p := &st.creep[i]
		if p.est.k > 0 && (day != p.night || tod >= cr.to) {
			ob, ok := st.endNight(p, pt, d, at)
			if ok {
				judged++
				out = worse(out, ob, judged == 1)
			}
		}
		v, ps := d.now(pt)
		if ps != good || tod < cr.from || tod >= cr.to {
			continue
		}
		if p.est.k == 0 {
			p.night, p.first = day, sec
		}
		p.est.add(v)
		p.last = sec
	}
	return out
}

// worse combines the verdicts of two points: trigger wins, then normal
// only if both are normal.
func worse(a, b observation, first bool) observation {
	switch {
	case first, b.class == trigger && a.class != trigger:
		return b
	case a.class == trigger:
		return a
	case b.class == unknown:
		return b
	}
	return a
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// endNight closes point p's night in progress: with enough samples its
// median becomes a baseline, judged into an observation.
func (st *ruleState) endNight(p *creepPoint, pt int, d *device, at time.Time) (observation, bool) {
	cr := st.r.creep
	defer p.est.reset()
	med, _ := p.est.median()
	if p.est.k < minNightSamples || 2*(p.last-p.first) < cr.to-cr.from {
		return observation{}, false // too little of the night was seen
	}
	if !p.push(baseline{day: p.night, v: med}) {
		return observation{}, false
	}
	return st.judge(p, pt, d, at), true
}

// judge classifies p's newest baseline and records the verdict.
func (st *ruleState) judge(p *creepPoint, pt int, d *device, at time.Time) observation {
	cr := st.r.creep
	b := p.newest()
	ob := observation{class: unknown, point: pt, value: b.v}
	slope, hasSlope := p.slopeOver(cr.slopeDays)
	med, hasMed := p.medianBefore(cr.ratioDays)
	if cr.ratio > 0 && hasMed {
		ob.limit, ob.hasLimit = cr.ratio*med, true
	}
	if hasSlope {
		ob.slope, ob.hasSlope = slope, true
	}
	bySlope := cr.slope > 0 && hasSlope && slope >= cr.slope
	byRatio := cr.ratio > 0 && hasMed && b.v >= cr.ratio*med
	judged := (cr.slope > 0 && hasSlope) || (cr.ratio > 0 && hasMed)
	switch {
	case b.v >= cr.minBaseline && (bySlope || byRatio):
		ob.class, ob.byValue = trigger, true
	case judged || b.v < cr.minBaseline:
		ob.class = normal
	}
	limit, _, hasLimit := st.r.limitOf(d)
	v := creepVerdict{known: true, at: at, cross: math.Inf(1), slope: slope, hasSlope: hasSlope}
	switch {
	case !hasLimit: // no setpoint: no crossing to project
	case b.v >= limit:
		v.cross = 0
	case hasSlope && slope > 0:
		v.cross = (limit - b.v) / slope
	}
	if !(st.verdict.known && st.verdict.at.Equal(at) && st.verdict.cross <= v.cross) {
		st.verdict = v // the nearest crossing of the points judged by this poll
	}
	return ob
}

// slopeOver is the least-squares slope, per day, of the baselines of the
// last days nights (the newest included); it needs half of them, at
// least 3.
func (p *creepPoint) slopeOver(days int) (float64, bool) {
	var f fit
	newest := p.newest().day
	k := 0
	for ; k < p.n; k++ {
		b := p.at(k)
		if b.day <= newest-int64(days) {
			break
		}
		f.add(float64(b.day-newest), b.v, 1)
	}
	if k < max(3, (days+1)/2) {
		return 0, false
	}
	s, _ := f.line()
	return s, true
}

// medianBefore is the median of the baselines of the days nights before
// the newest; it needs a quarter of them, at least 3.
func (p *creepPoint) medianBefore(days int) (float64, bool) {
	var buf [maxCreepDays + 1]float64
	vs := buf[:0]
	newest := p.newest().day
	for k := 1; k < p.n; k++ {
		b := p.at(k)
		if b.day < newest-int64(days) {
			break
		}
		vs = append(vs, b.v)
	}
	if len(vs) < max(3, days/4) {
		return 0, false
	}
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2], true
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2, true
}
