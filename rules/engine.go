package rules

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// DeviceRules is the effective rule set of one device.
type DeviceRules struct {
	Device string
	Specs  []Spec
	// Points maps the device's point names to their units. Optional: when
	// set, the specs' point names are checked against it, and it supplies
	// the unit of a reading that carries none.
	Points map[string]string
	// Params are the device's parameter values by name: the configured
	// devices[].params over the profile's defaults. They bind the specs'
	// threshold_param and not_equals_param when the engine is built; a
	// rule whose parameter has no value here falls back, runs reduced or
	// is left out (Spec.ThresholdParam, Engine.Notes). NaN and ±Inf are
	// refused.
	Params map[string]float64
}

// Engine evaluates compiled rules on polls. It is pure: time comes in
// with the polls, events go out; it is safe for concurrent use.
type Engine struct {
	mu      sync.Mutex
	devices []*device
	byID    map[string]*device
	// confirming are the devices that wanted a confirmation read after
	// their last step (ConfirmNow).
	confirming []*device
}

// NewEngine validates and compiles the rules of every device. It reports
// every problem at once (errors.Join), each prefixed with the device and
// the rule: `device "efd-1": rules[2] (R7): level: 7 is out of range 1..4`.
// Disabled specs are left out.
func NewEngine(devs []DeviceRules) (*Engine, error) {
	e := &Engine{byID: make(map[string]*device, len(devs))}
	var errs []error
	lays := layouts{}
	for _, dr := range devs {
		if _, dup := e.byID[dr.Device]; dup || dr.Device == "" {
			errs = append(errs, fmt.Errorf("device %q: empty or duplicate device id", dr.Device))
			continue
		}
		d, derrs := compileDevice(dr, lays.of(dr.Points))
		errs = append(errs, derrs...)
		d.order = len(e.devices)
		e.devices = append(e.devices, d)
		e.byID[d.id] = d
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return e, nil
}

// compileDevice validates and compiles the specs of one device.
func compileDevice(dr DeviceRules, lay *layout) (*device, []error) {
	d := newDevice(dr.Device, dr.Points, lay)
	var points func(string) bool
	if len(dr.Points) > 0 {
		points = func(name string) bool { _, ok := dr.Points[name]; return ok }
	}
	errs := checkParamValues(dr.Device, dr.Params)
	seen := map[string]bool{}
	for i := range dr.Specs {
		s := &dr.Specs[i]
		if s.Disabled {
			continue
		}
		prefix := fmt.Sprintf("device %q: rules[%d] (%s)", dr.Device, i, s.ID)
		bad := false
		for _, err := range s.Validate(points) {
			errs, bad = append(errs, fmt.Errorf("%s: %w", prefix, err)), true
		}
		if seen[s.ID] {
			errs, bad = append(errs, fmt.Errorf("%s: id: %q is used twice", prefix, s.ID)), true
		}
		seen[s.ID] = true
		if bad {
			continue
		}
		rs, note, ok, err := resolveParams(*s, dr.Params)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", prefix, err))
			continue
		}
		if note != nil {
			note.Device = dr.Device
			d.notes = append(d.notes, *note)
		}
		if !ok {
			d.skipped = append(d.skipped, s.ID)
			continue
		}
		d.rules = append(d.rules, newRuleState(compile(&rs, d)))
	}
	if len(errs) == 0 {
		errs = d.resolveRefs()
	}
	return d, errs
}

// Step feeds polls to the engine and returns the events they complete,
// sorted by At (ties: device, then order of decision). A poll's At
// is its time; a zero At is taken as now. Polls of unknown devices are
// ignored. Polls of one device must come in time order: one that is not
// later than the device's previous poll (the clock stepped back) is
// treated as missing data and restarts the device's pending runs.
func (e *Engine) Step(now time.Time, polls []Poll) []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Event
	for i := range polls {
		p := &polls[i]
		d := e.byID[p.Device]
		if d == nil {
			continue
		}
		at := p.At
		if at.IsZero() {
			at = now
		}
		out = d.apply(at, p, out)
		e.noteConfirm(d)
	}
	slices.SortStableFunc(out, func(a, b Event) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Device, b.Device))
	})
	e.settle(out)
	return out
}

// settle sets the After of each event of out, in out's order: the last
// event of a device gets the device's state now, and each earlier one the
// state before the event that follows it (an Open undone removes its rule,
// a Clear undone puts it back). So the states read in the order the events
// are published, whatever order the engine decided them in.
func (e *Engine) settle(out []Event) {
	if len(out) == 0 {
		return
	}
	open := map[string]map[string]Condition{}
	for i := len(out) - 1; i >= 0; i-- {
		ev := &out[i]
		m, ok := open[ev.Device]
		if !ok {
			m = map[string]Condition{}
			if d := e.byID[ev.Device]; d != nil {
				for _, st := range d.rules {
					if st.firing && !st.test {
						m[st.r.id] = st.r.cond
					}
				}
			}
			open[ev.Device] = m
		}
		ev.After = worst(m)
		switch ev.Kind {
		case Open:
			delete(m, ev.Rule)
		case Clear:
			h, _ := LookupHazard(ev.Hazard)
			m[ev.Rule] = h.Condition
		}
	}
}

// worst is the most severe condition of open, ConditionNormal if none.
func worst(open map[string]Condition) Condition {
	w := ConditionNormal
	for _, c := range open {
		w = max(w, c)
	}
	return w
}

// Condition returns device's state now: the worst condition among its
// open real episodes (ConditionNormal for an unknown device).
func (e *Engine) Condition(device string) Condition {
	e.mu.Lock()
	defer e.mu.Unlock()
	w := ConditionNormal
	if d := e.byID[device]; d != nil {
		for _, st := range d.rules {
			if st.firing && !st.test {
				w = max(w, st.r.cond)
			}
		}
	}
	return w
}

// apply evaluates one poll of d taken at at, appending events to out.
func (d *device) apply(at time.Time, p *Poll, out []Event) []Event {
	if d.started && !at.After(d.lastAt) {
		d.floor = latest(d.floor, d.lastAt)
		d.lastAt = at
		d.restartRuns(nil)
		return out
	}
	d.started, d.lastAt = true, at
	if p.OK {
		d.load(p.Readings)
	}
	wasOffline := d.offline()
	out = d.stepOffline(at, p.OK, out)
	if !p.OK || d.offline() {
		return out // other rules are frozen: no data, or not trusted yet
	}
	return d.stepRules(at, wasOffline, out)
}

// stepRules evaluates the device's rules on the current poll: member
// rules first, then the compound rules that look at them, then the
// escalations, which may look at both, so the order is deterministic.
func (d *device) stepRules(at time.Time, wasOffline bool, out []Event) []Event {
	d.holdClears = d.disabled()
	for _, st := range d.rules {
		if wasOffline && !st.r.offline {
			st.resetRuns() // back online: judge from fresh readings only
		}
		if !st.r.offline && st.r.compound == nil {
			out = d.stepRule(st, at, out)
		}
	}
	for _, st := range d.rules {
		if st.r.compound != nil {
			out = d.stepRule(st, at, out)
		}
	}
	for _, st := range d.rules {
		if len(st.r.steps) > 0 {
			out = d.escalate(st, out)
		}
	}
	return out
}

// stepRule evaluates one rule on the current poll.
func (d *device) stepRule(st *ruleState, at time.Time, out []Event) []Event {
	testOn := d.testMode(st.r)
	if st.test && !testOn {
		st.endTest() // test mode is over: judge the condition afresh
	}
	ob := st.r.eval(st, d)
	if testOn && st.firing && !st.test {
		ob.class = unknown // a real episode is frozen in test mode
	}
	if d.holdClears && st.firing && !st.test && st.r.cond != ConditionDisabled && ob.class == normal {
		// the device reports itself disabled: it is not watching, so its
		// being quiet clears nothing; the clear is judged afresh once it is
		// enabled again
		st.clearing, ob.class = run{}, unknown
	}
	if d.valueRead(st.r) { // see valueRead: polls may carry some points only
		st.observeSteps(at, ob)
	}
	var t transition
	ok := false
	if st.r.resetClear {
		t, ok = d.resetClear(st, at, ob)
	}
	if !ok {
		t, ok = st.step(at, ob)
	}
	switch {
	case !ok:
		return out
	case st.test: // a test episode ends without an event
		st.endTest()
		return out
	case testOn:
		t.kind = Test
	case t.kind == Open:
		st.openIdx, st.openEpoch = len(out), d.epoch
	}
	return append(out, d.event(st, t))
}

// resetClear notes whether st's latched bits hold and, once an episode
// during which they held sees every bit false and the value normal (the
// device was reset), clears it at once (ClearOnReset).
func (d *device) resetClear(st *ruleState, at time.Time, ob observation) (transition, bool) {
	bits := evalWhen(st.r.when, d)
	switch {
	case bits.class == trigger:
		st.latched = true
	case !st.firing:
		if ob.class != trigger {
			st.latched = false
		}
	case st.latched && !st.test && bits.class == normal && ob.class == normal:
		st.clearing, st.last = run{}, ob
		return transition{kind: Clear, at: at}, true
	}
	return transition{}, false
}

// disabled reports whether a disabled-condition episode (the detector's
// 屏蔽 bit) is open on d.
func (d *device) disabled() bool {
	for _, st := range d.rules {
		if st.firing && !st.test && st.r.cond == ConditionDisabled {
			return true
		}
	}
	return false
}

// testMode reports whether any of r's test-mode conditions holds on its
// point's latest good value on d.
func (d *device) testMode(r *rule) bool {
	for i := range r.testMode {
		c := &r.testMode[i]
		if v, ok := d.latestGood(c.slot); ok && c.holds(v) {
			return true
		}
	}
	return false
}

// stepOffline feeds the poll outcome to the device's offline rules.
func (d *device) stepOffline(at time.Time, ok bool, out []Event) []Event {
	ob := observation{class: trigger, point: -1}
	if ok {
		ob.class = normal
	}
	for _, st := range d.rules {
		if !st.r.offline {
			continue
		}
		if t, done := st.step(at, ob); done {
			out = append(out, d.event(st, t))
		}
	}
	return out
}

// event applies transition t to st and describes it.
func (d *device) event(st *ruleState, t transition) Event {
	ev := Event{Kind: t.kind, Device: d.id, Rule: st.r.id, Hazard: st.r.hazard, ComponentType: st.r.compType}
	t.at = latest(t.at, d.floor)
	if t.kind == Open || t.kind == Test {
		st.begin(d.id, t.at)
		st.test = t.kind == Test
		if !st.test && st.opens != nil {
			st.noteOpen(st.ep.since)
		}
		ev.At = st.ep.since
		ev.Evidence = d.evidence(st, st.r.openWindow)
	} else {
		ev.At = st.end(t.at)
		ev.Evidence = d.evidence(st, st.r.clearWindow)
	}
	ev.TicketID, ev.Level, ev.OccurrenceCount = st.ep.ticket, st.ep.level, st.ep.count
	return ev
}

// evidence describes the rule's last observation on d.
func (d *device) evidence(st *ruleState, window string) Evidence {
	ev := Evidence{Window: window}
	if st.r.offline {
		return ev // the device's values are stale: no point, no snapshot
	}
	ob := st.last
	if ob.point >= 0 {
		ev.Point, ev.Unit, ev.Value = d.name(ob.point), d.unit(ob.point)+st.r.unitSuffix, ptr(ob.value)
		if i := slices.Index(st.r.points, ob.point); i >= 0 {
			if v, g := d.now(st.r.atAlarm[i]); g == good {
				ev.ValueAtAlarm = ptr(v)
			}
		}
	}
	if ob.hasLimit {
		ev.Threshold = ptr(ob.limit)
	}
	if ob.hasSlope {
		ev.Slope = ptr(ob.slope)
	}
	ev.Snapshot = d.snapshot(ob.point)
	return ev
}

func ptr(v float64) *float64 { return &v }

// latest returns the later of a and b.
func latest(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}
