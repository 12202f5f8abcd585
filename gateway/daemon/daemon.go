// Package daemon wires fenghuo together and runs it: config → per-bus
// polling (gateway/sched) → the rule loop (gateway/engine: rule engine,
// ticket records, outbox commits) → the uplinks (gateway/uplinks: the
// MQTT link, and the GB/T 26875.3 centre link when configured, each with
// its own cursor in the outbox; uplink.go); the local API and the status
// message read snapshots (gateway/localapi), /metrics counts. It keeps only the wiring and the
// lifecycle: open the outbox, start the buses, the loop, the uplinks and
// the API, and stop them in order.
package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/engine"
	"github.com/fenghuo-iot/fenghuo/gateway/localapi"
	"github.com/fenghuo-iot/fenghuo/gateway/uplinks"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875/link"
	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// Options configure a Daemon. Config and Profiles are required.
type Options struct {
	Config   *config.Config
	Profiles *profile.Set
	Logger   *slog.Logger // nil: discard
	Version  string
	// OnCommitted, when set, is called for every record committed to the
	// outbox (the demo counts what was raised).
	OnCommitted func(outbox.Record)
	// ConfigPath is the config file Config came from: Reload re-reads it
	// ("": reload is refused). ReloadSignals, when set, reloads at every
	// value received (fenghuo run: SIGHUP).
	ConfigPath    string
	ReloadSignals <-chan os.Signal

	// tuneLink, when set, adjusts the link's options before it is built
	// (tests: a short R25 threshold, a fast reconnect, a link to cut).
	tuneLink func(*mqttlink.Options)
	// tuneGB, when set, adjusts the centre link's options (tests).
	tuneGB func(*link.Options)
	// baselineEvery and checkFileEvery override the rule loop's intervals
	// (tests; engine.Options).
	baselineEvery, checkFileEvery time.Duration
	// confirmWindow overrides uplink.config_confirm (tests).
	confirmWindow time.Duration
}

// Daemon is one running gateway.
type Daemon struct {
	opts    Options
	log     *slog.Logger
	cfg     *config.Config
	devices map[string]*deviceState // the bus owners' view (buses.go)
	buses   []busPlan
	store   outboxStore
	guard   *outbox.Guard // every append and the uplinks go through it
	link    *mqttlink.Link
	uplinks []uplinks.Uplink  // every way out; the MQTT link first
	reports []localapi.Uplink // the same uplinks as the API reads them (uplink.go)
	gb      *uplinks.GB26875  // the centre link, when configured
	loop    *engine.Loop
	views   *localapi.Views
	started time.Time
	metrics *localapi.Metrics
	runner  busOwners // the bus owners while Run runs, and reloads (reload.go)

	mu          sync.Mutex // guards metricsAddr
	metricsAddr string     // where /metrics listens, once it does
}

// New builds a daemon from a validated config: it compiles every device's
// request plan and rules, opens the outbox and restores the open hazards,
// so that a restart neither re-opens nor forgets them. It touches no bus.
func New(opts Options) (*Daemon, error) {
	if opts.Config == nil || opts.Profiles == nil {
		return nil, errors.New("daemon: Config and Profiles are required")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	d := &Daemon{opts: opts, log: log, cfg: opts.Config, started: time.Now()}
	devs, err := d.buildDevices()
	if err != nil {
		return nil, err
	}
	eng, err := engine.CompileRules(d.cfg, opts.Profiles, d.log)
	if err != nil {
		return nil, err
	}
	d.metrics = localapi.NewMetrics(d.cfg)
	if err := d.refuseSecond(); err != nil {
		return nil, err
	}
	if err := d.openOutbox(); err != nil {
		return nil, err
	}
	if err := d.buildUplinks(); err != nil {
		d.store.Close()
		return nil, err
	}
	if err := d.newLoop(eng, devs); err != nil {
		d.store.Close()
		return nil, err
	}
	d.views = localapi.New(localapi.Options{
		Config: d.cfg, Version: opts.Version, Started: d.started, Loop: d.loop, Guard: d.guard, Store: d.store,
		Link: d.link, Uplinks: d.reports, Logger: d.log, Bus: d.busRunner, BusHandlers: d.busHandlers(),
		Reload: d.apiReload, LastReload: d.lastReload, ConfigPath: opts.ConfigPath,
	})
	d.metrics.Watch(d.views)
	return d, nil
}

// Run polls, decides and forwards until ctx is done, then stops in order:
// buses first, then the last decisions are committed, then the uplinks
// publish the offline status and disconnect, then the outbox closes.
func (d *Daemon) Run(ctx context.Context) error {
	defer d.store.Close()
	stopAPI, err := d.startAPI()
	if err != nil {
		return err
	}
	defer stopAPI()
	defer d.startMetrics()()
	stopUplinks := d.startUplinks()

	polls := make(chan rules.Poll, 64)
	busesDone := d.startBuses(ctx, polls)
	d.serveSignals(ctx)

	d.log.Info("fenghuo started", "gateway", d.cfg.Gateway.ID, "buses", len(d.buses), "devices", len(d.devices), "version", d.opts.Version)
	d.loop.Run(ctx, polls, busesDone)
	close(d.runner.loopDone)
	d.runner.confirms.Wait() // a pushed config's window ends with ctx

	// Events kept in memory by a storage fault: a few seconds for the
	// store to take them (the uplinks keep publishing meanwhile), then the
	// fallback file once the uplinks have stopped (their marks are final).
	d.loop.AwaitStored(engine.StopWaitStored)
	err = stopUplinks()
	d.loop.SpillUnstored()
	d.log.Info("fenghuo stopped", "gateway", d.cfg.Gateway.ID)
	return err
}

// committed is the rule loop's OnCommitted: metrics and Options.OnCommitted.
func (d *Daemon) committed(recs []outbox.Record) {
	d.metrics.NoteCommitted(recs)
	if d.opts.OnCommitted != nil {
		for _, r := range recs {
			d.opts.OnCommitted(r)
		}
	}
}

// status is the gateway's fenghuo.status.v1 message (localapi).
func (d *Daemon) status() ticket.Status { return d.views.StatusMessage() }
