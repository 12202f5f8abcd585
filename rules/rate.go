package rules

import (
	"math"
	"strings"
	"time"
)

// Ring sizing of a rate rule: at most one sample per shortest window /
// samplesPerWindow, and never more than maxRing samples per point.
const (
	samplesPerWindow = 30
	maxRing          = 256
	defaultSamples   = 5
)

// rateRule is the compiled part of a rate rule.
type rateRule struct {
	alts     []slopeAlt
	per      time.Duration
	capacity int
	gap      int64 // nanoseconds between stored samples, at least
}

// slopeAlt is a compiled SlopeCond.
type slopeAlt struct {
	window       int64
	slope, clear float64
	minValue     float64
	samples      int
}

func compileRate(s *Spec) *rateRule {
	rr := &rateRule{per: cmp0(s.Per, time.Minute)}
	shortest, longest := s.Slopes[0].Window, s.Slopes[0].Window
	for _, c := range s.Slopes {
		a := slopeAlt{window: int64(c.Window), slope: c.Slope, clear: c.Slope, minValue: math.Inf(-1),
			samples: cmp0(c.Samples, defaultSamples)}
		if s.ClearSlope != 0 {
			a.clear = s.ClearSlope
		}
		if c.MinValue != nil {
			a.minValue = *c.MinValue
		}
		rr.alts = append(rr.alts, a)
		shortest, longest = min(shortest, c.Window), max(longest, c.Window)
	}
	rr.gap = int64(shortest / samplesPerWindow)
	rr.capacity = min(maxRing, int(longest/max(shortest/samplesPerWindow, 1))+2)
	return rr
}

func cmp0[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// perUnit is the evidence unit suffix of a slope: "/min", "/h", "/s".
func perUnit(per time.Duration) string {
	switch per {
	case time.Second:
		return "/s"
	case time.Minute:
		return "/min"
	case time.Hour:
		return "/h"
	}
	return "/" + shortDuration(per)
}

// window is the evidence window of an open: "slope over 10m|2m".
func (rr *rateRule) window(open window) string {
	ws := make([]string, len(rr.alts))
	for i, a := range rr.alts {
		ws[i] = shortDuration(time.Duration(a.window))
	}
	s := "slope over " + strings.Join(ws, "|")
	if open.dur > 0 || open.n > 1 {
		s += ", " + open.String("samples")
	}
	return s
}

// rateObs accumulates the slopes of one poll into an observation.
type rateObs struct {
	trig, band, top observation // top: the largest slope, for evidence
	unknown         bool
}

// evalRate feeds the poll's good values to the rings and classifies the
// slopes: trigger when any (point, alternative) reaches its slope (and
// min value), unknown when a point is missing or a slope cannot be had,
// band when a slope is still at or above the clear slope, else normal.
// The evidence is the largest slope, its limit the alternative's slope.
func evalRate(st *ruleState, d *device) observation {
	r, at := st.r, d.lastAt.UnixNano()
	o := rateObs{trig: observation{point: -1}, band: observation{point: -1}, top: observation{point: -1}}
	for i, p := range r.points {
		v, ps := d.now(p)
		switch ps {
		case absent:
			continue
		case missing:
			o.unknown = true
		case good:
			st.rings[i].push(at, v)
		}
		for j := range r.rate.alts {
			c := &st.slopes[i*len(r.rate.alts)+j]
			o.add(&r.rate.alts[j], &st.rings[i], c, p, ps == good && v >= r.rate.alts[j].minValue, at, r.rate.per)
		}
	}
	return o.result()
}

// add classifies one point's slope over one alternative's window.
func (o *rateObs) add(a *slopeAlt, g *ring, c *slopeCache, point int, valueOK bool, at int64, per time.Duration) {
	b, ok := g.slope(c, at, a.window, a.samples, float64(per))
	switch {
	case !ok:
		o.unknown = true
		return
	case o.top.point < 0 || b > o.top.value:
		o.top = observation{class: normal, point: point, value: b, limit: a.slope, hasLimit: true}
	}
	switch {
	case b >= a.slope && valueOK:
		if o.trig.point < 0 || b > o.trig.value {
			o.trig = observation{class: trigger, byValue: true, point: point, value: b, limit: a.slope, hasLimit: true}
		}
	case b >= a.clear:
		if o.band.point < 0 || b > o.band.value {
			o.band = observation{class: band, point: point, value: b, limit: a.slope, hasLimit: true}
		}
	}
}

func (o *rateObs) result() observation {
	switch {
	case o.trig.point >= 0:
		return o.trig
	case o.unknown:
		return observation{class: unknown, point: -1}
	case o.band.point >= 0:
		return o.band
	}
	return o.top
}
