package rules

import (
	"fmt"
	"time"
)

// OpenHazard is an open episode, as the outbox remembers it across a
// restart.
type OpenHazard struct {
	Device   string
	Rule     string
	TicketID string
	Level    int
	Since    time.Time // the episode's open At
}

// Restore marks the given episodes open, so that a restarted gateway
// continues them instead of opening them again: a later clear carries the
// restored TicketID. Pending runs of the restored rules restart. Entries
// whose device or rule no longer exists are ignored; a level outside
// 1..4 is replaced by the rule's level. A restored offline hazard freezes
// its device's other rules until it clears.
func (e *Engine) Restore(open []OpenHazard) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, o := range open {
		st := e.find(o.Device, o.Rule)
		if st == nil {
			continue
		}
		level := o.Level
		if level < 1 || level > 4 {
			level = st.r.level
		}
		st.resetRuns()
		st.firing, st.hit, st.test = true, true, false
		st.ep = episode{ticket: o.TicketID, since: o.Since, level: level, count: 1}
		st.lastEvent, st.lastTicket = o.Since, o.TicketID
	}
}

// find returns the state of rule on device, or nil.
func (e *Engine) find(device, rule string) *ruleState {
	d := e.byID[device]
	if d == nil {
		return nil
	}
	for _, st := range d.rules {
		if st.r.id == rule {
			return st
		}
	}
	return nil
}

// Open returns every open episode, by device (in NewEngine order) and rule.
func (e *Engine) Open() []OpenHazard {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []OpenHazard
	for _, d := range e.devices {
		for _, st := range d.rules {
			if st.firing && !st.test {
				out = append(out, OpenHazard{Device: d.id, Rule: st.r.id, TicketID: st.ep.ticket, Level: st.ep.level, Since: st.ep.since})
			}
		}
	}
	return out
}

// Phase is where a rule stands on one device.
type Phase uint8

const (
	// Inactive: the condition does not hold (or nothing was read yet).
	Inactive Phase = iota
	// Pending: the condition holds, not yet for long enough to open.
	Pending
	// Firing: an episode is open.
	Firing
	// Clearing: an episode is open and the condition has ended, not yet
	// for long enough to clear.
	Clearing
)

// String returns inactive, pending, firing or clearing.
func (p Phase) String() string {
	switch p {
	case Inactive:
		return "inactive"
	case Pending:
		return "pending"
	case Firing:
		return "firing"
	case Clearing:
		return "clearing"
	}
	panic(fmt.Errorf("unknown phase %d", uint8(p)))
}

// RuleState is what Explain tells about one rule on one device.
type RuleState struct {
	Device    string
	Rule      string
	Hazard    string
	Phase     Phase
	Since     time.Time     // start of the phase; zero when Inactive
	Elapsed   time.Duration // now − Since; zero when Inactive
	Samples   int           // samples in the pending or clearing run
	Point     string        // point of the last observation, "" if none
	Value     *float64      // last observed value, nil if none
	Threshold *float64      // effective limit at the last observation
	TicketID  string        // the open episode's ticket, "" when none
	Level     int           // the open episode's level, else the rule's
	Frozen    bool          // the device is offline: the rule waits
}

// Explain returns the state of every rule of every device at now, by
// device (NewEngine order) and rule (spec order).
func (e *Engine) Explain(now time.Time) []RuleState {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []RuleState
	for _, d := range e.devices {
		frozen := d.offline()
		for _, st := range d.rules {
			rs := st.explain(d, now)
			rs.Frozen = frozen && !st.r.offline
			out = append(out, rs)
		}
	}
	return out
}

func (st *ruleState) explain(d *device, now time.Time) RuleState {
	rs := RuleState{Device: d.id, Rule: st.r.id, Hazard: st.r.hazard, Level: st.r.level}
	switch {
	case st.firing && st.clearing.n > 0:
		rs.Phase, rs.Since, rs.Samples = Clearing, st.clearing.since, st.clearing.n
	case st.firing:
		rs.Phase, rs.Since = Firing, st.ep.since
	case st.opening.n > 0:
		rs.Phase, rs.Since, rs.Samples = Pending, st.opening.since, st.opening.n
	}
	if st.firing {
		rs.TicketID, rs.Level = st.ep.ticket, st.ep.level
	}
	if !rs.Since.IsZero() {
		rs.Elapsed = now.Sub(rs.Since)
	}
	if ob := st.last; ob.point >= 0 {
		rs.Point, rs.Value = d.name(ob.point), ptr(ob.value)
	}
	if st.last.hasLimit {
		rs.Threshold = ptr(st.last.limit)
	}
	return rs
}

// BadReadings returns how many readings of device were taken as bad
// quality (NaN, ±Inf or Quality Bad) since the engine was built.
func (e *Engine) BadReadings(device string) uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if d := e.byID[device]; d != nil {
		return d.bad
	}
	return 0
}
