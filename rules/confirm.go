package rules

// ConfirmNow appends to dst the id of every device on which a rule is
// waiting for more samples and for nothing else: its open run has started
// but not reached the rule's sample count, and the rule has no duration
// to wait for (R1: the fire-alarm bit seen on one read, waiting for its
// second). Reading such a device again at once — instead of one poll
// interval later — confirms or dismisses the alarm one interval sooner;
// the daemon asks the bus owner for that read (a confirmation read).
//
// A rule with a duration (`for`) is left out: more samples sooner do not
// make its time pass faster. A device whose offline rule is firing is left
// out too: its readings are not trusted yet.
func (e *Engine) ConfirmNow(dst []string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, d := range e.devices {
		if d.wantsConfirm() {
			dst = append(dst, d.id)
		}
	}
	return dst
}

// wantsConfirm reports whether one of d's rules waits on its count alone.
func (d *device) wantsConfirm() bool {
	if d.offline() {
		return false
	}
	for _, st := range d.rules {
		w := st.r.open
		if !st.firing && !st.r.offline && w.dur == 0 && st.opening.n > 0 && st.opening.n < max(w.n, 1) {
			return true
		}
	}
	return false
}
