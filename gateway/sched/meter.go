package sched

import (
	"sync"
	"time"
)

// MeterWindow is how far back a Meter's figures look: the utilisation
// and the achieved intervals are averaged over the last one to two
// windows (the current one and the whole one before it).
const MeterWindow = time.Minute

// Meter measures what a line actually carries (issue 13, Build 3), as
// drivers/linebudget plans it ahead of time: the share of wall time the
// line is busy with requests (every read attempt of a poll, its retries,
// confirmation reads and diagnostic jobs), and per device its achieved
// interval, the mean time between its regular polls (each reads the
// device's first group: its status and alarm words). The bus owner
// writes (Run); the local API and /metrics read. Safe for concurrent use.
type Meter struct {
	window time.Duration

	mu      sync.Mutex
	started time.Time
	busy    time.Duration // since started
	cur     meterMark     // the current window's start
	prev    meterMark     // the previous window's start (zero before one ended)
	devs    map[string]*deviceMeter
}

// meterMark is what the totals were at the start of a window.
type meterMark struct {
	at   time.Time
	busy time.Duration
}

// deviceMeter counts one device's regular polls.
type deviceMeter struct {
	n           uint64    // regular polls since started
	first, last time.Time // when the first and the last one ended
	// what n and last were at the start of the current and previous window
	curN, prevN       uint64
	curLast, prevLast time.Time
}

// LineStats is a line's measured load at one moment.
type LineStats struct {
	// Utilisation is the busy share of the window (0..1).
	Utilisation float64
	// Window is the span Utilisation covers (up to 2 × MeterWindow).
	Window time.Duration
	// Busy is the line's busy time since it started.
	Busy time.Duration
}

// NewMeter is the meter of a line with devices ids, started now.
func NewMeter(ids []string, now time.Time) *Meter {
	m := &Meter{window: MeterWindow, started: now, cur: meterMark{at: now}, devs: make(map[string]*deviceMeter, len(ids))}
	for _, id := range ids {
		m.devs[id] = &deviceMeter{}
	}
	return m
}

// begin restarts the meter at now when its line starts polling (Run):
// the time between building it and the start is not the line's.
func (m *Meter) begin(now time.Time) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.busy == 0 && m.prev.at.IsZero() {
		m.started, m.cur = now, meterMark{at: now}
	}
}

// noteBusy adds a span the line was busy, ending at end.
func (m *Meter) noteBusy(took time.Duration, end time.Time) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.busy += took
	m.roll(end)
}

// notePoll counts a regular poll of device id that ended at end.
func (m *Meter) notePoll(id string, end time.Time) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if d := m.devs[id]; d != nil {
		if d.n == 0 {
			d.first = end
		}
		d.n++
		d.last = end
	}
	m.roll(end)
}

// roll starts a new window when the current one is over; m.mu is held.
func (m *Meter) roll(now time.Time) {
	if now.Sub(m.cur.at) < m.window {
		return
	}
	m.prev, m.cur = m.cur, meterMark{at: now, busy: m.busy}
	for _, d := range m.devs {
		d.prevN, d.prevLast = d.curN, d.curLast
		d.curN, d.curLast = d.n, d.last
	}
}

// from is the start of what the figures cover: the previous window when
// one has ended, else the meter's start. m.mu is held.
func (m *Meter) from() meterMark {
	if !m.prev.at.IsZero() {
		return m.prev
	}
	return meterMark{at: m.started}
}

// Line returns the line's measured load at now.
func (m *Meter) Line(now time.Time) LineStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.roll(now)
	from := m.from()
	st := LineStats{Busy: m.busy, Window: now.Sub(from.at)}
	if st.Window > 0 {
		st.Utilisation = min(1, max(0, float64(m.busy-from.busy)/float64(st.Window)))
	}
	return st
}

// Achieved returns device id's achieved interval at now: the mean time
// between its regular polls within the window (or since its first poll);
// once it has waited more than twice that, the time since its last poll
// (a device that stopped being polled is at least that slow). ok is false
// for an unknown device, and before a second poll unless the first is a
// window old.
func (m *Meter) Achieved(id string, now time.Time) (interval time.Duration, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.roll(now)
	d := m.devs[id]
	if d == nil || d.n == 0 {
		return 0, false
	}
	since := now.Sub(d.last)
	n0, last0 := uint64(1), d.first
	if !m.prev.at.IsZero() && d.prevN > 0 {
		n0, last0 = d.prevN, d.prevLast
	}
	if d.n <= n0 {
		return since, since >= m.window
	}
	mean := d.last.Sub(last0) / time.Duration(d.n-n0)
	if since > 2*mean {
		return since, true // stalled: it is at least that slow now
	}
	return mean, true
}
