// Package daemon wires fenghuo together: config → per-bus polling →
// rule engine → ticket builder → SQLite outbox → MQTT link. It is the only
// package that knows drivers, rules and uplink at once.
//
// Durability: an event is handed to the uplink only after the outbox
// committed it (Append returned nil). If the commit fails (a full disk),
// the events stay in memory and the commit is retried on every later step;
// nothing already decided is dropped while the process lives.
package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/sqlite"
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

	// tuneLink, when set, adjusts the link's options before it is built
	// (tests: a short R25 threshold, a fast reconnect, a link to cut).
	tuneLink func(*mqttlink.Options)
	// baselineEvery overrides defaultBaselineEvery (tests).
	baselineEvery time.Duration
}

// Daemon is one running gateway.
type Daemon struct {
	opts    Options
	log     *slog.Logger
	cfg     *config.Config
	devices map[string]*deviceState
	buses   []busPlan
	engine  *rules.Engine
	store   *sqlite.Store
	link    *mqttlink.Link
	started time.Time
	metrics *metrics
	telem   *telemetry // nil when uplink.telemetry is off; the rule loop's
	health  *health    // the periodic health report and self-test; the rule loop's
	// configHash identifies the running config (status, health report).
	configHash string

	mu          sync.Mutex // guards deviceState.online/stats, pending and metricsAddr
	pending     []outbox.Record
	confirmBuf  []string // the rule loop's: devices to read again (confirm.go)
	metricsAddr string   // where /metrics listens, once it does

	// commit failures; touched only by the rule loop
	commitFailingSince, commitLoggedAt time.Time

	// gatewayDraining: R25 may be open, the backlog is read (gateway.go);
	// touched only by the rule loop
	gatewayDraining bool

	// creep baselines on disk (baselines.go); touched only by New and the
	// rule loop
	baselineEvery      time.Duration
	baselinesCheckedAt time.Time
	baselinesSaved     []byte
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
	d := &Daemon{opts: opts, log: log, cfg: opts.Config, started: time.Now(), gatewayDraining: true,
		baselineEvery: cmp.Or(opts.baselineEvery, defaultBaselineEvery)}
	if err := d.buildDevices(); err != nil {
		return nil, err
	}
	if err := d.buildEngine(); err != nil {
		return nil, err
	}
	d.metrics = newMetrics(d)
	d.telem = newTelemetry(d, time.Now())
	d.health = newHealth(opts.Config.Uplink.HealthInterval, time.Now())
	d.configHash = opts.Config.Hash()
	if err := d.refuseSecond(); err != nil {
		return nil, err
	}
	if err := d.openOutbox(); err != nil {
		return nil, err
	}
	d.restoreBaselines()
	lo := d.linkOptions()
	if opts.tuneLink != nil {
		opts.tuneLink(&lo)
	}
	link, err := mqttlink.New(lo)
	if err != nil {
		d.store.Close()
		return nil, fmt.Errorf("uplink: %w", err)
	}
	d.link = link
	return d, nil
}

// openOutbox opens the SQLite outbox and restores open hazards into the
// engine.
func (d *Daemon) openOutbox() error {
	st, err := sqlite.Open(d.cfg.Buffer.Path, sqlite.Options{Logger: d.log})
	if err != nil {
		return fmt.Errorf("buffer.path %s: %w", d.cfg.Buffer.Path, err)
	}
	d.store = st
	open, err := st.OpenTickets(context.Background())
	if err != nil {
		st.Close()
		return fmt.Errorf("outbox: reading open tickets: %w", err)
	}
	restored := make([]rules.OpenHazard, 0, len(open))
	for _, o := range open {
		restored = append(restored, rules.OpenHazard{Device: o.Device, Rule: o.Rule, TicketID: o.TicketID, Level: o.Level, Since: o.Since})
	}
	d.engine.Restore(restored)
	if len(restored) > 0 {
		d.log.Info("restored open hazards from the outbox", "count", len(restored))
	}
	return nil
}

// Run polls, decides and forwards until ctx is done, then stops in order:
// buses first, then the last decisions are committed, then the uplink
// publishes the offline status and disconnects, then the outbox closes.
func (d *Daemon) Run(ctx context.Context) error {
	defer d.store.Close()
	stopAPI, err := d.startAPI()
	if err != nil {
		return err
	}
	defer stopAPI()
	defer d.startMetrics()()
	linkCtx, stopLink := context.WithCancel(context.Background())
	linkDone := make(chan error, 1)
	go func() { linkDone <- d.link.Run(linkCtx) }()

	polls := make(chan rules.Poll, 64)
	var wg sync.WaitGroup
	for _, b := range d.buses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.runBus(ctx, b, polls)
		}()
	}
	busesDone := make(chan struct{})
	go func() { wg.Wait(); close(busesDone) }()

	d.log.Info("fenghuo started", "gateway", d.cfg.Gateway.ID, "buses", len(d.buses), "devices", len(d.devices), "version", d.opts.Version)
	d.ruleLoop(ctx, polls, busesDone)

	stopLink()
	err = <-linkDone
	d.log.Info("fenghuo stopped", "gateway", d.cfg.Gateway.ID)
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// ruleLoop steps the engine with every batch of polls and commits the
// resulting events, until the buses have stopped. Every second it also
// polls the gateway pseudo-device (R25, gateway.go), retries a failed
// commit and sees whether the creep baselines need saving (baselines.go).
func (d *Daemon) ruleLoop(ctx context.Context, polls <-chan rules.Poll, busesDone <-chan struct{}) {
	retry := time.NewTicker(time.Second)
	defer retry.Stop()
	for {
		var batch []rules.Poll
		select {
		case p := <-polls:
			batch = append(batch, p)
			batch = drain(polls, batch)
		case now := <-retry.C:
			batch = append(batch, d.gatewayPoll(ctx, now))
			d.saveBaselines(now, false)
			d.queue(d.telemetryRecords(now)...)
			d.queue(d.healthRecords(now)...)
		case <-busesDone:
			d.step(drain(polls, nil))
			d.commitPending(context.Background())
			d.saveBaselines(time.Now(), true)
			return
		}
		d.step(batch)
		d.commitPending(ctx)
	}
}

// drain appends every poll already waiting in ch.
func drain(ch <-chan rules.Poll, batch []rules.Poll) []rules.Poll {
	for {
		select {
		case p := <-ch:
			batch = append(batch, p)
		default:
			return batch
		}
	}
}

// step runs the engine on a batch and queues the events as outbox records.
func (d *Daemon) step(batch []rules.Poll) {
	if len(batch) == 0 {
		return
	}
	for _, p := range batch {
		d.noteOnline(p)
		d.telem.observe(p)
	}
	events := d.engine.Step(time.Now(), batch)
	d.askConfirmationReads()
	for _, ev := range events {
		rec, err := d.record(ev)
		if err != nil {
			d.log.Error("cannot build ticket", "device", ev.Device, "rule", ev.Rule, "err", err)
			continue
		}
		d.log.Info("hazard event", "state", ev.Kind.String(), "device", ev.Device, "rule", ev.Rule, "hazard", ev.Hazard, "level", ev.Level, "ticket", ev.TicketID)
		d.queue(rec)
	}
}

// queue adds records to those the next commitPending commits.
func (d *Daemon) queue(recs ...outbox.Record) {
	if len(recs) == 0 {
		return
	}
	d.mu.Lock()
	d.pending = append(d.pending, recs...)
	d.mu.Unlock()
}

// commitPending appends the queued records to the outbox in one
// transaction. On failure they stay queued and the error is logged; the
// next call retries.
func (d *Daemon) commitPending(ctx context.Context) {
	d.mu.Lock()
	recs := d.pending
	d.mu.Unlock()
	if len(recs) == 0 {
		return
	}
	committed, err := d.store.Append(ctx, recs...)
	if err != nil {
		d.noteCommitFailure(len(recs), err)
		return
	}
	if !d.commitFailingSince.IsZero() {
		d.log.Info("outbox commits again; the events kept in memory are stored", "events", len(recs),
			"failing_for", time.Since(d.commitFailingSince).Round(time.Second))
		d.commitFailingSince, d.commitLoggedAt = time.Time{}, time.Time{}
	}
	d.mu.Lock()
	d.pending = d.pending[len(recs):]
	d.mu.Unlock()
	d.metrics.noteCommitted(committed)
	for _, r := range committed {
		if d.opts.OnCommitted != nil {
			d.opts.OnCommitted(r)
		}
	}
	d.link.Notify()
}

// noteCommitFailure logs a failed outbox commit loudly once, then at most
// once a minute while it keeps failing (a full disk would otherwise log
// every second). The events stay queued in memory and are retried.
func (d *Daemon) noteCommitFailure(events int, err error) {
	now := time.Now()
	if d.commitFailingSince.IsZero() {
		d.commitFailingSince = now
	}
	if !d.commitLoggedAt.IsZero() && now.Sub(d.commitLoggedAt) < time.Minute {
		return
	}
	d.commitLoggedAt = now
	msg := "outbox commit failed; events kept in memory and retried every second"
	if errors.Is(err, outbox.ErrFull) {
		msg = "OUTBOX FULL: the disk or the outbox cannot grow; events kept in memory and retried every second, stored events keep draining"
	}
	d.log.Error(msg, "events", events, "failing_for", now.Sub(d.commitFailingSince).Round(time.Second), "err", err)
}

// record converts a rule event into an outbox record carrying its ticket.
func (d *Daemon) record(ev rules.Event) (outbox.Record, error) {
	dev, category, ok := d.eventDevice(ev.Device)
	if !ok {
		return outbox.Record{}, fmt.Errorf("unknown device %q", ev.Device)
	}
	info, ok := rules.LookupHazard(ev.Hazard)
	if !ok {
		return outbox.Record{}, fmt.Errorf("unknown hazard %q", ev.Hazard)
	}
	t := ticket.FromEvent(ev, hazardMeta(info, category), d.gatewayInfo(), dev)
	payload, err := t.Marshal()
	if err != nil {
		return outbox.Record{}, err
	}
	prio := 1
	if ev.Level == 1 {
		prio = 0
	}
	return outbox.Record{
		EventID: t.EventID, TicketID: t.TicketID, State: t.State, Hazard: ev.Hazard, Rule: ev.Rule,
		Device: ev.Device, Level: ev.Level, Priority: prio, Payload: payload, CreatedAt: time.Now(),
	}, nil
}
