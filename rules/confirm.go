package rules

import (
	"cmp"
	"slices"
)

// ConfirmNow appends to dst the id of every device on which a rule is
// waiting for more samples and for nothing else: its open (or clear) run
// has started but not reached the rule's sample count, and the rule has no
// duration to wait for (R1: the fire-alarm bit seen on one read, waiting
// for its second; then the bit gone on one read, waiting for its second).
// Reading such a device again at once — instead of one poll interval
// later — confirms or dismisses the change one interval sooner; the daemon
// asks the bus owner for that read (a confirmation read).
//
// A run with a duration (`for`, `clear_for`) is left out: more samples
// sooner do not make its time pass faster. A device whose offline rule is firing is left
// out too: its readings are not trusted yet.
//
// Only a step can start a run, so Step lists the devices that want a
// confirmation after it (noteConfirm) and ConfirmNow looks at those alone,
// not at every device after every batch (a site of 1 000 devices).
func (e *Engine) ConfirmNow(dst []string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	keep := e.confirming[:0]
	for _, d := range e.confirming {
		if e.byID[d.id] != d || !d.wantsConfirm() {
			d.confirmListed = false
			continue
		}
		keep = append(keep, d)
	}
	clear(e.confirming[len(keep):])
	e.confirming = keep
	slices.SortFunc(keep, func(a, b *device) int { return cmp.Compare(a.order, b.order) })
	for _, d := range keep {
		dst = append(dst, d.id)
	}
	return dst
}

// noteConfirm lists d for ConfirmNow when it wants a confirmation read
// after a step; e.mu is held.
func (e *Engine) noteConfirm(d *device) {
	if !d.confirmListed && d.wantsConfirm() {
		d.confirmListed = true
		e.confirming = append(e.confirming, d)
	}
}

// wantsConfirm reports whether one of d's rules waits on its count alone.
func (d *device) wantsConfirm() bool {
	if d.offline() {
		return false
	}
	for _, st := range d.rules {
		if st.r.offline {
			continue
		}
		if !st.firing && countOnly(st.r.open, st.opening) || st.firing && countOnly(st.r.clear, st.clearing) {
			return true
		}
	}
	return false
}

// countOnly reports whether run r has started and waits only for more
// samples to meet w.
func countOnly(w window, r run) bool {
	return w.dur == 0 && r.n > 0 && r.n < max(w.n, 1)
}
