package rules

import "time"

// run counts consecutive samples of one kind (open or clear).
type run struct {
	n     int
	since time.Time // the first sample of the run
}

func (r *run) add(at time.Time) {
	if r.n == 0 {
		r.since = at
	}
	r.n++
}

// episode is an open hazard: one ticket from open to clear.
type episode struct {
	ticket string
	since  time.Time
	level  int
	count  int // occurrences within the episode; 1 until repeats are counted
}

// ruleState is one compiled rule on one device and where it stands.
type ruleState struct {
	r                 *rule
	firing            bool
	ep                episode
	opening, clearing run
	// hit: a value (not only a bit) reached the limit in the current run or
	// episode. An episode raised by a bit alone clears when the bit drops,
	// without waiting for the value to leave the hysteresis band.
	hit bool

	// escRuns are the runs of the rule's value escalation steps; escStep
	// is the step that decided the latest escalation.
	escRuns []run
	escStep int
	// openIdx is the index in the current Step's output of the Open event
	// emitted by poll openEpoch, so that an escalation decided by the same
	// poll amends it instead of following it.
	openIdx   int
	openEpoch uint64
	// clearedAt is the At of the rule's last real clear (compound rules
	// look back at it).
	clearedAt time.Time
	// rings are the recent samples of a rate rule, one per point.
	rings  []ring
	slopes []slopeCache // per point and slope alternative
	// creep is the night estimate and baselines of a creep rule, one per
	// point; verdict its judgement after the latest night.
	creep   []creepPoint
	verdict creepVerdict
	// opens are the starts of the rule's latest real episodes (count steps).
	opens []time.Time
	// latched: a When condition held during the pending run or the open
	// episode (ClearOnReset rules: its drop is the device's reset).
	latched bool
	// test: the open episode is a test episode (the device was in test
	// mode); it emits no real ticket.
	test bool

	last       observation // for Explain
	lastEvent  time.Time   // At of the rule's last event: keeps its events in order
	lastTicket string
}

// newRuleState is the state of r before its first poll.
func newRuleState(r *rule) *ruleState {
	st := &ruleState{r: r, last: observation{point: -1}, escRuns: make([]run, len(r.steps))}
	if r.rate != nil {
		st.rings = make([]ring, len(r.points))
		for i := range st.rings {
			st.rings[i] = newRing(r.rate.capacity, r.rate.gap)
		}
		st.slopes = make([]slopeCache, len(r.points)*len(r.rate.alts))
	}
	if r.creep != nil {
		st.creep = newCreepPoints(r.creep, len(r.points))
	}
	for _, s := range r.steps {
		if s.count > 0 {
			st.opens = make([]time.Time, 0, maxCount)
			break
		}
	}
	return st
}

// resetRuns forgets the pending runs and the recent samples; an open
// episode stays open.
func (st *ruleState) resetRuns() {
	st.opening, st.clearing = run{}, run{}
	clear(st.escRuns)
	for i := range st.rings {
		st.rings[i].reset()
	}
	if !st.firing {
		st.hit = false
	}
}

// transition is a decided change of a rule: Open or Clear at at.
type transition struct {
	kind Kind
	at   time.Time
}

// step feeds one observation taken at at into the debounce state machine
// and returns the transition it completes, if any.
func (st *ruleState) step(at time.Time, ob observation) (transition, bool) {
	if ob.class == unknown {
		return transition{}, false
	}
	st.last = ob
	c := ob.class
	if c == band && !st.hit {
		c = normal // no value crossed the limit: the band means nothing
	}
	if !st.firing {
		return st.stepInactive(at, c, ob.byValue)
	}
	return st.stepFiring(at, c, ob.byValue)
}

func (st *ruleState) stepInactive(at time.Time, c class, byValue bool) (transition, bool) {
	if c != trigger {
		st.opening, st.hit = run{}, false
		return transition{}, false
	}
	st.opening.add(at)
	st.hit = st.hit || byValue
	if !st.r.open.met(st.opening.n, st.opening.since, at) {
		return transition{}, false
	}
	t := transition{kind: Open, at: st.opening.since}
	st.opening = run{}
	return t, true
}

func (st *ruleState) stepFiring(at time.Time, c class, byValue bool) (transition, bool) {
	if c != normal {
		st.clearing = run{}
		st.hit = st.hit || (c == trigger && byValue)
		return transition{}, false
	}
	st.clearing.add(at)
	if !st.r.clear.met(st.clearing.n, st.clearing.since, at) {
		return transition{}, false
	}
	t := transition{kind: Clear, at: st.clearing.since}
	st.clearing = run{}
	return t, true
}

// endTest ends a test episode silently and restarts the runs.
func (st *ruleState) endTest() {
	st.firing, st.test, st.hit = false, false, false
	st.opening, st.clearing = run{}, run{}
	clear(st.escRuns)
}

// ticketID is "<device>/<rule>/<at UTC 20060102T150405.000>".
func ticketID(device, rule string, at time.Time) string {
	return device + "/" + rule + "/" + at.UTC().Format("20060102T150405.000")
}

// begin starts an episode at at, no earlier than the rule's last event (so
// a clock stepped backwards cannot reorder the rule's events), with a
// ticket id unlike the previous episode's.
func (st *ruleState) begin(device string, at time.Time) {
	at = latest(at, st.lastEvent)
	id := ticketID(device, st.r.id, at)
	for id == st.lastTicket { // same millisecond as the previous episode
		at = at.Add(time.Millisecond)
		id = ticketID(device, st.r.id, at)
	}
	st.firing, st.lastEvent, st.lastTicket = true, at, id
	st.ep = episode{ticket: id, since: at, level: st.r.level, count: 1}
}

// end closes the episode at at (no earlier than its start).
func (st *ruleState) end(at time.Time) time.Time {
	at = latest(at, st.lastEvent)
	st.firing, st.hit, st.latched, st.lastEvent = false, false, false, at
	if !st.test {
		st.clearedAt = at
	}
	clear(st.escRuns)
	return at
}
