package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/engine"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// Reload sources (api.Reload.Source).
const (
	ReloadSIGHUP = "sighup"
	ReloadLocal  = "local"
)

// reloadTimeout bounds one reload: stopping the changed buses (each
// finishes its current request) and the rule loop taking the new set.
const reloadTimeout = 30 * time.Second

// busOwners starts and stops the bus owners while the daemon runs: Run
// starts the configured ones, a reload stops the changed or removed ones
// and starts the changed or new ones, each with its own context.
type busOwners struct {
	mu      sync.Mutex // guards the fields below, and Daemon.buses and devices after New
	ctx     context.Context
	polls   chan<- rules.Poll
	cancels map[string]context.CancelFunc // by bus name
	closed  bool                          // Run is stopping: start no bus
	wg      sync.WaitGroup

	reloading sync.Mutex    // one reload at a time
	last      *api.Reload   // the last attempt, nil before the first
	lastMu    sync.Mutex    // guards last
	loopDone  chan struct{} // closed when the rule loop has stopped; nil before Run

	// a pushed config in its confirm window (remoteconfig.go); guarded
	// by reloading
	pending  *pushed
	confirms sync.WaitGroup // the confirm window's goroutine
}

// startBuses starts an owner for every configured bus; the returned
// channel is closed once ctx is done and every owner has stopped (the
// rule loop then commits its last decisions).
func (d *Daemon) startBuses(ctx context.Context, polls chan<- rules.Poll) <-chan struct{} {
	r := &d.runner
	r.mu.Lock()
	r.ctx, r.polls, r.cancels = ctx, polls, map[string]context.CancelFunc{}
	r.loopDone = make(chan struct{})
	for _, b := range d.buses {
		d.startBusLocked(b)
	}
	r.mu.Unlock()
	done := make(chan struct{})
	go func() {
		<-ctx.Done()
		r.mu.Lock()
		r.closed = true // no Add after this: Wait below is safe
		r.mu.Unlock()
		r.wg.Wait()
		close(done)
	}()
	return done
}

// startBusLocked starts b's owner; d.runner.mu is held.
func (d *Daemon) startBusLocked(b busPlan) {
	r := &d.runner
	if r.closed {
		return
	}
	ctx, cancel := context.WithCancel(r.ctx)
	r.cancels[b.cfg.Name] = cancel
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		d.runBus(ctx, b, r.polls)
	}()
}

// busState is the current buses and devices (the API's and the rule
// loop's view; a reload replaces both).
func (d *Daemon) busState() ([]busPlan, map[string]*deviceState) {
	d.runner.mu.Lock()
	defer d.runner.mu.Unlock()
	return d.buses, d.devices
}

// serveSignals reloads at every signal of Options.ReloadSignals until ctx
// is done.
func (d *Daemon) serveSignals(ctx context.Context) {
	ch := d.opts.ReloadSignals
	if ch == nil {
		return
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				d.Reload(ctx, ReloadSIGHUP)
			}
		}
	}()
}

// Reload re-reads the config file (Options.ConfigPath) and applies it
// without a restart, Prometheus-style: a file with any problem, or with a
// change that needs a restart (restartOnly), is refused whole and the
// running config keeps running; the reason is logged and kept for `diag
// status`. A good one is applied live (applyConfig). The attempt is
// returned and kept as the last reload.
func (d *Daemon) Reload(ctx context.Context, source string) api.Reload {
	d.runner.reloading.Lock()
	defer d.runner.reloading.Unlock()
	return d.reloadLocked(ctx, source, nil)
}

// reloadLocked is Reload with d.runner.reloading held; cfg, when set, is
// the config to apply instead of the file's (already parsed and written).
func (d *Daemon) reloadLocked(ctx context.Context, source string, cfg *config.Config) api.Reload {
	res := api.Reload{At: time.Now(), Source: source, Path: d.opts.ConfigPath}
	// not the caller's cancellation: a reload is not left half done
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reloadTimeout)
	defer cancel()
	var err error
	if cfg == nil {
		err = d.reload(ctx, &res)
	} else {
		err = d.applyChecked(ctx, cfg, &res)
	}
	if err != nil {
		res.OK = false
		res.Problems = config.ProblemList(err)
		d.log.Error("config reload refused; the running config is kept", "source", source, "path", res.Path,
			"problems", len(res.Problems), "err", errors.Join(config.Problems(err)...))
	} else {
		res.OK = true
		d.log.Info("config reloaded", "source", source, "path", res.Path, "hash", d.loop.ConfigHash(), "unchanged", res.Unchanged,
			"buses_kept", len(res.BusesKept), "buses_stopped", len(res.BusesStopped), "buses_started", len(res.BusesStarted),
			"tickets_kept", res.TicketsKept, "tickets_closed", res.TicketsClosed)
	}
	res.ConfigHash = d.loop.ConfigHash()
	d.runner.lastMu.Lock()
	d.runner.last = &res
	d.runner.lastMu.Unlock()
	return res
}

// apiReload is `diag reload` (POST /v1/reload).
func (d *Daemon) apiReload(ctx context.Context) (api.Reload, error) {
	return d.Reload(ctx, ReloadLocal), nil
}

// lastReload is the last reload attempt, or nil.
func (d *Daemon) lastReload() *api.Reload {
	d.runner.lastMu.Lock()
	defer d.runner.lastMu.Unlock()
	if d.runner.last == nil {
		return nil
	}
	r := *d.runner.last
	return &r
}

// reload reads, checks and applies the config file; an error refuses it
// (a join of *config.FieldError where the problem has a key path).
func (d *Daemon) reload(ctx context.Context, res *api.Reload) error {
	if d.opts.ConfigPath == "" {
		return errors.New("this daemon was started without a config file to re-read")
	}
	cfg, err := config.Load(d.opts.ConfigPath)
	if err != nil {
		return err
	}
	return d.applyChecked(ctx, cfg, res)
}

// applyChecked applies a valid config unless it is the running one or
// changes what needs a restart.
func (d *Daemon) applyChecked(ctx context.Context, cfg *config.Config, res *api.Reload) error {
	d.runner.mu.Lock()
	loopDone := d.runner.loopDone
	d.runner.mu.Unlock()
	if loopDone == nil {
		return errors.New("the daemon is not running yet")
	}
	cur := d.loop.Config()
	if cfg.Hash() == d.loop.ConfigHash() {
		res.Unchanged = true
		return nil
	}
	if err := cur.NeedsRestart(cfg); err != nil {
		return err
	}
	return d.applyConfig(ctx, cfg, loopDone, res)
}

// applyConfig applies a valid config live. The buses whose line and
// devices are unchanged keep their owner (no reconnect); the others stop
// before the rule loop takes the new rules and devices (engine.Replace:
// open tickets carried over by device and rule), and the changed and new
// buses start after it.
func (d *Daemon) applyConfig(ctx context.Context, cfg *config.Config, loopDone <-chan struct{}, res *api.Reload) error {
	next := &Daemon{opts: d.opts, cfg: cfg, log: d.log}
	next.opts.Profiles = cfg.Profiles()
	devs, err := next.buildDevices()
	if err != nil {
		return err
	}
	eng, err := engine.CompileRules(cfg, next.opts.Profiles, d.log)
	if err != nil {
		return err
	}
	// The MQTT connection is checked (TLS files read) before anything
	// changes, and moved once the rest is applied.
	conn, err := d.link.PrepareConnection(d.connOptions(cfg))
	if err != nil {
		return &config.FieldError{Path: "uplink.mqtt", Msg: err.Error()}
	}
	buses, devices, keep := d.mergeBuses(next)
	devs.SetLines(linesOf(buses)) // a kept bus keeps its owner's meter
	err = d.stopBuses(ctx, keep, res)
	var sw engine.SwapResult
	if err == nil {
		sw, err = d.loop.Replace(ctx, engine.Swap{Config: cfg, Rules: eng, Devices: devs}, loopDone)
	}
	if err != nil {
		d.restartStopped(res.BusesStopped)
		res.BusesStopped = nil
		return fmt.Errorf("the new config was not applied: %w", err)
	}
	res.TicketsKept, res.TicketsClosed = sw.Kept, sw.Closed
	if d.link.SetConnection(conn) {
		res.UplinkMoved, res.UplinkBroker = true, d.link.Broker()
	}
	d.forgetMetrics(cfg)
	r := &d.runner
	r.mu.Lock()
	defer r.mu.Unlock()
	d.buses, d.devices = buses, devices
	for _, b := range buses {
		if keep[b.cfg.Name] {
			res.BusesKept = append(res.BusesKept, b.cfg.Name)
			continue
		}
		d.startBusLocked(b)
		res.BusesStarted = append(res.BusesStarted, b.cfg.Name)
	}
	return nil
}

// forgetMetrics drops the metrics of the devices cfg no longer has on
// the same bus.
func (d *Daemon) forgetMetrics(cfg *config.Config) {
	_, running := d.busState()
	kept := map[[2]string]bool{}
	for _, dc := range cfg.Devices {
		kept[[2]string{dc.Bus, dc.ID}] = true
	}
	for id, ds := range running {
		if !kept[[2]string{ds.cfg.Bus, id}] {
			d.metrics.Forget(ds.cfg.Bus, id)
		}
	}
}

// mergeBuses returns next's buses with the running owner's plan in place
// of every bus whose line and devices did not change (keep), and the
// devices of them all.
func (d *Daemon) mergeBuses(next *Daemon) ([]busPlan, map[string]*deviceState, map[string]bool) {
	running, _ := d.busState()
	byName := map[string]busPlan{}
	for _, b := range running {
		byName[b.cfg.Name] = b
	}
	keep := map[string]bool{}
	devices := map[string]*deviceState{}
	buses := make([]busPlan, 0, len(next.buses))
	for _, nb := range next.buses {
		if ob, ok := byName[nb.cfg.Name]; ok && sameBus(ob, nb) {
			nb, keep[nb.cfg.Name] = ob, true
		}
		for _, ds := range nb.devices {
			devices[ds.cfg.ID] = ds
		}
		buses = append(buses, nb)
	}
	return buses, devices, keep
}

// stopBuses stops every running owner whose bus is not kept and waits
// until it has (its line is free for the new owner).
func (d *Daemon) stopBuses(ctx context.Context, keep map[string]bool, res *api.Reload) error {
	running, _ := d.busState()
	r := &d.runner
	for _, b := range running {
		if keep[b.cfg.Name] {
			continue
		}
		r.mu.Lock()
		cancel := r.cancels[b.cfg.Name]
		delete(r.cancels, b.cfg.Name)
		r.mu.Unlock()
		if cancel == nil {
			continue
		}
		cancel()
		select {
		case <-b.diag.stopped:
		case <-ctx.Done():
			return fmt.Errorf("bus %q did not stop: %w", b.cfg.Name, ctx.Err())
		}
		res.BusesStopped = append(res.BusesStopped, b.cfg.Name)
	}
	return nil
}

// restartStopped starts again the running config's buses a failed
// reload stopped (each with a fresh door: the old one is closed).
func (d *Daemon) restartStopped(names []string) {
	r := &d.runner
	r.mu.Lock()
	defer r.mu.Unlock()
	buses := slices.Clone(d.buses)
	for i, b := range buses {
		if slices.Contains(names, b.cfg.Name) {
			buses[i].diag = newBusDiag()
			d.startBusLocked(buses[i])
		}
	}
	d.buses = buses
}

// sameBus reports whether two plans of a bus were built from the same
// line config and, for each device, from what its request plan and
// schedule come from: then the running owner can keep polling.
func sameBus(a, b busPlan) bool {
	ka, okA := busKey(a)
	kb, okB := busKey(b)
	return okA && okB && ka == kb
}

// busKey is what a bus owner was built from (sameBus); ok is false when
// it cannot be told (a profile that does not encode).
func busKey(b busPlan) (string, bool) {
	type dev struct {
		ID, Profile string
		Slave       int
		Poll        time.Duration
		Def         json.RawMessage // the profile itself (profiles_dir may have changed)
	}
	k := struct {
		Bus     config.Bus
		Devices []dev
	}{Bus: b.cfg}
	for _, ds := range b.devices {
		def, err := json.Marshal(ds.profile)
		if err != nil {
			return "", false
		}
		k.Devices = append(k.Devices, dev{ID: ds.cfg.ID, Profile: ds.cfg.Profile, Slave: ds.cfg.Slave, Poll: ds.cfg.Poll, Def: def})
	}
	out, err := json.Marshal(k)
	return string(out), err == nil
}
