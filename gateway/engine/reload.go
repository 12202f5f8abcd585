package engine

import (
	"context"
	"errors"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// liveSet is what a config reload replaces in a running loop: the config,
// the rule engine compiled from it and its devices. It is never modified
// once stored; a reload stores a new one.
type liveSet struct {
	cfg      *config.Config
	rules    *rules.Engine
	devices  *Devices
	hash     string    // cfg.Hash()
	loadedAt time.Time // when this config was taken into use
}

func newLiveSet(cfg *config.Config, eng *rules.Engine, devs *Devices, at time.Time) *liveSet {
	return &liveSet{cfg: cfg, rules: eng, devices: devs, hash: cfg.Hash(), loadedAt: at}
}

// Config is the running config (replaced by a reload; read-only).
func (l *Loop) Config() *config.Config { return l.live.Load().cfg }

// ConfigHash is the running config's hash (config.Config.Hash).
func (l *Loop) ConfigHash() string { return l.live.Load().hash }

// ConfigLoadedAt is when the running config was taken into use: the
// start, or the last reload that changed it.
func (l *Loop) ConfigLoadedAt() time.Time { return l.live.Load().loadedAt }

// Swap is a new config for a running loop: the rule engine and the
// devices compiled from it (CompileRules, NewDevices), not yet stepped.
type Swap struct {
	Config  *config.Config
	Rules   *rules.Engine
	Devices *Devices
}

// SwapResult is what a swap did to the hazards.
type SwapResult struct {
	// Kept are the open episodes carried over to the new rules (same
	// device and rule id); Closed the ones whose device or rule the new
	// config no longer has, closed with a clear.
	Kept, Closed int
}

type swapReq struct {
	s    Swap
	done chan SwapResult
}

// ErrNotRunning is Replace's answer when the loop has stopped.
var ErrNotRunning = errors.New("the rule loop is not running")

// Replace hands the loop a new config between two steps, on its own
// goroutine, so that no poll is stepped half by the old rules and half by
// the new. The open episodes are carried over to the new rule engine by
// (device, rule id), with their ticket, level (escalations) and start:
// the new rules decide when they clear, and no duplicate open is sent.
// The creep baselines are carried over the same way, and each kept
// device's poll statistics (online state, last values). An episode whose
// device or rule is gone is closed with a clear (evidence window "rule
// removed by a config reload"): nothing would ever clear it otherwise.
// Pending runs start again under the new rules. Replace waits until the
// loop has taken the new set, ctx is done or the loop has stopped
// (stopped is closed when Run returns).
func (l *Loop) Replace(ctx context.Context, s Swap, stopped <-chan struct{}) (SwapResult, error) {
	if s.Config == nil || s.Rules == nil || s.Devices == nil {
		return SwapResult{}, errors.New("engine: Swap needs Config, Rules and Devices")
	}
	r := swapReq{s: s, done: make(chan SwapResult, 1)}
	select {
	case l.swaps <- r:
	case <-ctx.Done():
		return SwapResult{}, ctx.Err()
	case <-stopped:
		return SwapResult{}, ErrNotRunning
	}
	return <-r.done, nil
}

// swap runs on the loop goroutine: it carries the state of the running
// set into the new one, stores it and commits the clears of the episodes
// that have nowhere to go, before Replace returns.
func (l *Loop) swap(r swapReq) {
	now := time.Now()
	old := l.live.Load()
	open := old.rules.Open()
	r.s.Rules.Restore(open)
	r.s.Rules.RestoreBaselines(old.rules.Baselines())
	r.s.Devices.carryStats(old.devices)
	var res SwapResult
	var recs []outbox.Record
	for _, ev := range l.orphanClears(old, open, r.s.Rules, now) {
		rec, err := l.Record(ev) // the old set is still live: the device is known
		if err != nil {
			l.log.Error("cannot build the clear of a removed rule", "device", ev.Device, "rule", ev.Rule, "err", err)
			continue
		}
		l.log.Warn("open ticket closed: its rule or device was removed by the config reload", "device", ev.Device, "rule", ev.Rule, "ticket", ev.TicketID)
		recs = append(recs, rec)
		res.Closed++
	}
	res.Kept = len(open) - res.Closed
	l.live.Store(newLiveSet(r.s.Config, r.s.Rules, r.s.Devices, now))
	l.telem = newTelemetry(r.s.Config, r.s.Devices, now)
	l.commit(recs)
	r.done <- res
}

// episodeKey is an open episode's (device, rule id).
type episodeKey struct{ device, rule string }

// orphanClears are the clears of the episodes open in the old engine
// (open) that the new one (eng, restored) did not take: their device or
// rule is gone.
func (l *Loop) orphanClears(old *liveSet, open []rules.OpenHazard, eng *rules.Engine, now time.Time) []rules.Event {
	orphan := map[episodeKey]rules.OpenHazard{}
	for _, o := range open {
		orphan[episodeKey{o.Device, o.Rule}] = o
	}
	for _, o := range eng.Open() {
		delete(orphan, episodeKey{o.Device, o.Rule})
	}
	if len(orphan) == 0 {
		return nil
	}
	var out []rules.Event
	for _, rs := range old.rules.Explain(now) {
		o, ok := orphan[episodeKey{rs.Device, rs.Rule}]
		if !ok {
			continue
		}
		info, _ := rules.LookupHazard(rs.Hazard)
		out = append(out, rules.Event{
			Kind: rules.Clear, TicketID: o.TicketID, Device: o.Device, Rule: o.Rule, Hazard: rs.Hazard,
			Level: o.Level, At: now, OccurrenceCount: 1, ComponentType: info.ComponentType, After: eng.Condition(o.Device),
			Evidence: rules.Evidence{Point: rs.Point, Value: rs.Value, Threshold: rs.Threshold, Window: "rule removed by a config reload"},
		})
	}
	return out
}

// carryStats copies the poll statistics of every device ds shares with
// old (by id), so a reload keeps their online state, last values and
// counters. Call it before ds is in use.
func (ds *Devices) carryStats(old *Devices) {
	snap := old.Snapshot()
	ds.mu.Lock()
	defer ds.mu.Unlock()
	for _, v := range snap {
		if i, ok := ds.byID[v.Config.ID]; ok {
			ds.stats[i] = v.PollStats
			ds.latest[i].merge(v.Values)
		}
	}
}
