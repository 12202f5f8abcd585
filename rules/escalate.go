package rules

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// escStep is a compiled Escalation.
type escStep struct {
	level          int
	factor, offset float64
	open           window
	window         string // evidence window
	ifOpen         []string
	members        []*ruleState // ifOpen, resolved on the device
	crossDays      float64      // creep: projected crossing of the limit in fewer days
	count          int          // the count-th episode of the rule within within
	within         time.Duration
}

// isValue reports whether s is a value step (not if_open, cross_days or count).
func (s *escStep) isValue() bool { return len(s.ifOpen) == 0 && s.crossDays == 0 && s.count == 0 }

// maxCount bounds an escalation's count (and the opens a rule remembers).
const maxCount = 16

// compileSteps compiles s.Escalate.
func compileSteps(s *Spec) []escStep {
	steps := make([]escStep, 0, len(s.Escalate))
	for _, e := range s.Escalate {
		st := escStep{level: e.Level, factor: e.ThresholdFactor, offset: e.ThresholdOffset,
			open: window{e.For, e.MinSamples}, ifOpen: e.IfOpen, crossDays: e.CrossDays, count: e.Count, within: e.Within}
		if st.factor == 0 {
			st.factor = 1
		}
		st.window = st.open.String("samples")
		switch {
		case len(e.IfOpen) > 0:
			st.window = "with " + strings.Join(e.IfOpen, "|") + " open"
		case e.CrossDays > 0:
			st.window = fmt.Sprintf("limit projected within %g days", e.CrossDays)
		case e.Count > 0:
			st.window = fmt.Sprintf("%d episodes within %s", e.Count, shortDuration(e.Within))
		}
		steps = append(steps, st)
	}
	return steps
}

// errLeftOut is the ref error of a rule id that exists but was left out on
// the device for want of a parameter value (resolveParams): a reference to
// it is dropped, as to a rule that can never be open.
var errLeftOut = errors.New("left out on this device for want of a parameter value")

// resolveRefs binds every rule id a rule of d refers to (escalation
// if_open, compound groups) to its state, and reports unknown ids.
func (d *device) resolveRefs() []error {
	var errs []error
	for _, st := range d.rules {
		for j := range st.r.steps {
			s := &st.r.steps[j]
			for k, id := range s.ifOpen {
				m, err := d.ref(st, id)
				if errors.Is(err, errLeftOut) {
					continue // never open on this device
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("device %q: rule %s: escalate[%d].if_open[%d]: %w", d.id, st.r.id, j, k, err))
					continue
				}
				s.members = append(s.members, m)
			}
		}
		errs = append(errs, d.resolveGroups(st)...)
	}
	return errs
}

// ref returns the state of rule id on d, referred to by from.
func (d *device) ref(from *ruleState, id string) (*ruleState, error) {
	for _, st := range d.rules {
		if st.r.id == id && st != from {
			return st, nil
		}
	}
	if slices.Contains(d.skipped, id) {
		return nil, errLeftOut
	}
	ids := make([]string, 0, len(d.rules))
	for _, st := range d.rules {
		ids = append(ids, st.r.id)
	}
	return nil, fmt.Errorf("%q is not another rule of this device%s", id, hint(id, ids))
}

// observeSteps advances the value-step runs with observation ob: a run
// grows while the value is past the step's limit and restarts otherwise.
// Missing data changes nothing.
func (st *ruleState) observeSteps(at time.Time, ob observation) {
	if ob.class == unknown {
		return
	}
	for i := range st.r.steps {
		s := &st.r.steps[i]
		if !s.isValue() {
			continue
		}
		if ob.hasLimit && ob.point >= 0 && ob.byValue &&
			st.r.sign*ob.value >= st.r.sign*s.limit(ob.limit) {
			st.escRuns[i].add(at)
			continue
		}
		st.escRuns[i] = run{}
	}
}

// limit is the step's limit given the rule's effective limit.
func (s *escStep) limit(base float64) float64 { return base*s.factor + s.offset }

// escalate raises the level of st's open episode to its most urgent step
// whose condition now holds. An episode opened by this very poll opens at
// that level (its Open event at out[st.openIdx] is amended); otherwise an
// Escalate event is appended.
func (d *device) escalate(st *ruleState, out []Event) []Event {
	if !st.firing || st.test {
		return out
	}
	best, since := st.ep.level, time.Time{}
	for i := range st.r.steps {
		s := &st.r.steps[i]
		if s.level >= best {
			continue
		}
		switch {
		case len(s.ifOpen) > 0 && anyOpen(s.members):
			best, since = s.level, openSince(s.members)
		case s.count > 0 && st.opensWithin(s.within) >= s.count:
			best, since = s.level, st.ep.since
		case s.crossDays > 0 && st.verdict.known && st.verdict.cross < s.crossDays:
			best, since = s.level, st.verdict.at
		case s.isValue() && s.open.met(st.escRuns[i].n, st.escRuns[i].since, d.lastAt):
			best, since = s.level, st.escRuns[i].since
		default:
			continue
		}
		st.escStep = i
	}
	if best == st.ep.level {
		return out
	}
	st.ep.level = best
	if st.openEpoch == d.epoch && st.openIdx < len(out) && out[st.openIdx].TicketID == st.ep.ticket {
		out[st.openIdx].Level = best
		return out
	}
	return append(out, d.escalateEvent(st, since))
}

// escalateEvent describes the escalation of st's episode decided by step
// st.escStep, first observed at since.
func (d *device) escalateEvent(st *ruleState, since time.Time) Event {
	s := &st.r.steps[st.escStep]
	at := latest(latest(since, st.lastEvent), d.floor)
	st.lastEvent = at
	ev := Event{Kind: Escalate, Device: d.id, Rule: st.r.id, Hazard: st.r.hazard, At: at,
		TicketID: st.ep.ticket, Level: st.ep.level, OccurrenceCount: st.ep.count}
	ev.Evidence = d.evidence(st, s.window)
	if s.isValue() && st.last.hasLimit {
		ev.Evidence.Threshold = ptr(s.limit(st.last.limit))
	}
	return ev
}

// openSince is when the earliest open real episode of sts opened.
func openSince(sts []*ruleState) time.Time {
	var t time.Time
	for _, m := range sts {
		if m.firing && !m.test && (t.IsZero() || m.ep.since.Before(t)) {
			t = m.ep.since
		}
	}
	return t
}

// anyOpen reports whether any of sts has a real episode open.
func anyOpen(sts []*ruleState) bool {
	for _, m := range sts {
		if m.firing && !m.test {
			return true
		}
	}
	return false
}

// noteOpen remembers the start of a real episode, for count steps: the
// latest maxCount of them.
func (st *ruleState) noteOpen(at time.Time) {
	if len(st.opens) < cap(st.opens) {
		st.opens = append(st.opens, at)
		return
	}
	if len(st.opens) > 0 {
		copy(st.opens, st.opens[1:])
		st.opens[len(st.opens)-1] = at
	}
}

// opensWithin counts the episodes that opened within window before the
// open episode's start, this one included.
func (st *ruleState) opensWithin(window time.Duration) int {
	n := 0
	for _, t := range st.opens {
		if !t.After(st.ep.since) && st.ep.since.Sub(t) < window {
			n++
		}
	}
	return n
}
