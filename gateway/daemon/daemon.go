// Package daemon wires fenghuo together: config → per-bus polling →
// rule engine → ticket builder → SQLite outbox → MQTT link. It is the only
// package that knows drivers, rules and uplink at once.
//
// Durability: an event is handed to the uplink once the outbox committed
// it. If the store refuses (a full disk, an I/O error), the outbox guard
// (outbox.Guard, storage.go) keeps the events in a bounded memory queue
// with their seqs, the uplink publishes them at once marked "durable":
// false, and they are stored as soon as the store accepts writes; a stop
// meanwhile writes them to the fallback file that the next start imports.
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
	// checkFileEvery overrides checkFileEvery (tests).
	checkFileEvery time.Duration
}

// Daemon is one running gateway.
type Daemon struct {
	opts    Options
	log     *slog.Logger
	cfg     *config.Config
	devices map[string]*deviceState
	buses   []busPlan
	engine  *rules.Engine
	store   outboxStore
	guard   *outbox.Guard // every append and the link go through it
	link    *mqttlink.Link
	started time.Time
	metrics *metrics
	telem   *telemetry // nil when uplink.telemetry is off; the rule loop's
	health  *health    // the periodic health report and self-test; the rule loop's
	// configHash identifies the running config (status, health report).
	configHash string

	mu          sync.Mutex // guards deviceState.online/stats, metricsAddr and storage
	confirmBuf  []string   // the rule loop's: devices to read again (confirm.go)
	metricsAddr string     // where /metrics listens, once it does
	storage     storageState

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
	if err := d.openGuard(); err != nil {
		d.store.Close()
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
// engine. An outbox that cannot be opened for any reason but corruption
// (permission, read-only filesystem, I/O error, missing directory: an
// *sqlite.OpenError) fails New with a message naming buffer.path, so
// `fenghuo run` exits 1 and the file keeps its unsent events; a corrupt
// one is moved aside by sqlite.Open. A break in the outbox's history
// (st.Continuity(): database missing, moved aside or replaced) is logged
// at ERROR by sqlite.Open and kept for the status.
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

	// Events kept in memory by a storage fault: a few seconds for the
	// store to take them (the link keeps publishing meanwhile), then the
	// fallback file once the link has stopped (its marks are final).
	d.awaitStored(stopWaitStored)
	stopLink()
	err = <-linkDone
	d.spillUnstored()
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
		var telem []outbox.Record
		select {
		case p := <-polls:
			batch = append(batch, p)
			batch = drain(polls, batch)
		case now := <-retry.C:
			d.retryStorage(ctx, now)
			batch = append(batch, d.gatewayPoll(ctx, now))
			d.saveBaselines(now, false)
			telem = append(d.telemetryRecords(now), d.healthRecords(now)...)
		case <-busesDone:
			d.commit(d.step(drain(polls, nil)))
			d.saveBaselines(time.Now(), true)
			return
		}
		d.commit(append(d.step(batch), telem...))
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

// step runs the engine on a batch and returns the events as outbox records.
func (d *Daemon) step(batch []rules.Poll) []outbox.Record {
	if len(batch) == 0 {
		return nil
	}
	for _, p := range batch {
		d.noteOnline(p)
		d.telem.observe(p)
	}
	events := d.engine.Step(time.Now(), batch)
	d.askConfirmationReads()
	var recs []outbox.Record
	for _, ev := range events {
		rec, err := d.record(ev)
		if err != nil {
			d.log.Error("cannot build ticket", "device", ev.Device, "rule", ev.Rule, "err", err)
			continue
		}
		d.log.Info("hazard event", "state", ev.Kind.String(), "device", ev.Device, "rule", ev.Rule, "hazard", ev.Hazard, "level", ev.Level, "ticket", ev.TicketID)
		recs = append(recs, rec)
	}
	return recs
}

// commit appends the records to the outbox (through the guard) in one
// transaction and wakes the link. While the store refuses, the guard keeps
// them in memory with their seqs (ErrNotDurable) and the link publishes
// them all the same. The commit does not follow the run's context: events
// decided before a stop are committed too.
func (d *Daemon) commit(recs []outbox.Record) {
	if len(recs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	committed, err := d.guard.Append(ctx, recs...)
	if err != nil && !errors.Is(err, outbox.ErrNotDurable) {
		d.log.Error("EVENTS LOST: the outbox refused them", "events", len(recs), "first_ticket", recs[0].TicketID, "err", err)
		return
	}
	d.metrics.noteCommitted(committed)
	for _, r := range committed {
		if d.opts.OnCommitted != nil {
			d.opts.OnCommitted(r)
		}
	}
	d.link.Notify()
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
	if ev.Kind == rules.Test {
		// a test changes nothing on the device: it is coded with the
		// device's state (a test from diag test-alarm carries none)
		ev.After = max(ev.After, d.engine.Condition(ev.Device))
	}
	t := ticket.FromEvent(ev, hazardMeta(info, category), d.gatewayInfo(), dev)
	payload, err := t.Marshal()
	if err != nil {
		return outbox.Record{}, err
	}
	return outbox.Record{
		EventID: t.EventID, TicketID: t.TicketID, State: t.State, Hazard: ev.Hazard, Rule: ev.Rule,
		Device: ev.Device, Level: ev.Level, Priority: priority(ev, info), Payload: payload, CreatedAt: time.Now(),
	}, nil
}

// priority is the outbox class of an event (DESIGN §6, §8.4; GB 26875.1
// 4.1.2.3: fire first): every event of a fire-class hazard (kind alarm,
// any level: R1, R7, R10, R19, R22) and any level-1 event go first, ahead
// of faults, lower hazards, telemetry and the replay of older tickets; a
// test is never fire (GB/T 45839 5.8.4).
func priority(ev rules.Event, info rules.HazardInfo) int {
	if ev.Kind != rules.Test && (info.Kind == rules.KindAlarm || ev.Level == 1) {
		return outbox.PriorityLevel1
	}
	return outbox.PriorityTicket
}
