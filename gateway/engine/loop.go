package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/sched"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// Store is what the loop needs of the outbox store besides the guard: the
// tickets it holds open (restored into the rule engine at the start) and
// a check that its file is still the one opened.
type Store interface {
	outbox.TicketLister
	outbox.FileChecker
}

// Link is what R25 and R28 read of the uplink.
type Link interface {
	TransmissionFault() bool
	ClientIDConflict() bool
}

// Options configure a Loop. Config, Rules, Devices, Guard, Store and Link
// are required.
type Options struct {
	Config  *config.Config
	Rules   *rules.Engine
	Devices *Devices
	Guard   *outbox.Guard // every append goes through it
	Store   Store
	Link    Link
	Logger  *slog.Logger // nil: discard
	Version string

	// MQTTOutbox is the MQTT link's view of the outbox, whose ticket
	// backlog R25 waits for (nil: the guard, one uplink); Uplinks are the
	// uplinks besides MQTT, each with an R25 of its own (uplinks.go).
	MQTTOutbox outbox.Outbox
	Uplinks    []Uplink

	// Notify wakes the uplinks after a commit.
	Notify func()
	// Uplink is the uplink's part of the health report.
	Uplink func() ticket.HealthUplink
	// Confirm asks a device's bus owner for a confirmation read; it must
	// not block (confirm.go).
	Confirm func(device string)
	// OnCommitted is called with every batch committed (or kept in
	// memory by a storage fault); OnPoll with every device poll and the
	// device's online state after it.
	OnCommitted func([]outbox.Record)
	OnPoll      func(bus string, p rules.Poll, online bool)

	// BaselineEvery is how often new baselines are looked for (default
	// 10 min); CheckFileEvery how often the outbox file is checked
	// (default 10 s).
	BaselineEvery, CheckFileEvery time.Duration
}

// Loop is the rule loop. Its Run is one goroutine; the fields below mu
// are what the API reads meanwhile.
type Loop struct {
	opts  Options
	log   *slog.Logger
	guard *outbox.Guard
	// live is the running config, its rule engine and devices; a reload
	// swaps it on the loop goroutine (reload.go).
	live  atomic.Pointer[liveSet]
	swaps chan swapReq

	// the loop goroutine's own (Run; before it, New; after it, the stop)
	telem              *telemetry
	health             *health
	confirmBuf         []string
	gatewayDraining    bool           // R25 may be open: the backlog is read (gateway.go)
	uplinkFaults       []*uplinkFault // R25 of the uplinks besides MQTT (uplinks.go)
	baselinesCheckedAt time.Time
	baselinesSaved     []byte

	mu      sync.Mutex // guards storage
	storage storageState
}

// New builds the loop: it restores the hazards the outbox holds open, the
// fallback file of the last stop and the creep baselines into the rule
// engine, so that a restart neither re-opens nor forgets them.
func New(opts Options) (*Loop, error) {
	if opts.Config == nil || opts.Rules == nil || opts.Devices == nil || opts.Guard == nil || opts.Store == nil || opts.Link == nil {
		return nil, errors.New("engine: Config, Rules, Devices, Guard, Store and Link are required")
	}
	opts.Logger = cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))
	opts.BaselineEvery = cmp.Or(opts.BaselineEvery, defaultBaselineEvery)
	opts.CheckFileEvery = cmp.Or(opts.CheckFileEvery, checkFileEvery)
	if opts.Notify == nil {
		opts.Notify = func() {}
	}
	if opts.Confirm == nil {
		opts.Confirm = func(string) {}
	}
	now := time.Now()
	l := &Loop{opts: opts, log: opts.Logger, guard: opts.Guard, swaps: make(chan swapReq), gatewayDraining: true,
		uplinkFaults: newUplinkFaults(opts.Uplinks)}
	l.live.Store(newLiveSet(opts.Config, opts.Rules, opts.Devices, now))
	l.telem = newTelemetry(l.Config(), l.Devices(), now)
	l.health = newHealth(l.Config().Uplink.HealthInterval, now)
	if err := l.restoreOpen(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	l.importFallback(ctx)
	l.restoreBaselines()
	return l, nil
}

// restoreOpen hands the tickets the outbox holds open back to the engine.
func (l *Loop) restoreOpen() error {
	open, err := l.opts.Store.OpenTickets(context.Background())
	if err != nil {
		return fmt.Errorf("outbox: reading open tickets: %w", err)
	}
	restored := make([]rules.OpenHazard, 0, len(open))
	for _, o := range open {
		restored = append(restored, rules.OpenHazard{Device: o.Device, Rule: o.Rule, TicketID: o.TicketID, Level: o.Level, Since: o.Since})
	}
	l.Rules().Restore(restored)
	if len(restored) > 0 {
		l.log.Info("restored open hazards from the outbox", "count", len(restored))
	}
	return nil
}

// Rules is the rule engine the loop steps (safe for concurrent reads:
// Open, Explain, Condition).
func (l *Loop) Rules() *rules.Engine { return l.live.Load().rules }

// Devices are the devices and their poll statistics.
func (l *Loop) Devices() *Devices { return l.live.Load().devices }

// Run steps the engine with every batch of polls and commits the
// resulting events, until busesDone is closed; then it commits the last
// polls and saves the baselines. Every second it also polls the gateway
// pseudo-device (R25, gateway.go), retries the store (storage.go), sees
// whether the creep baselines need saving (baselines.go) and makes the
// telemetry and health records due.
// The readings of a poll sent to it are handed over: once stepped they
// go back to the bus owners' pool (sched.Recycle).
func (l *Loop) Run(ctx context.Context, polls <-chan rules.Poll, busesDone <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		var batch []rules.Poll
		var telem []outbox.Record
		select {
		case p := <-polls:
			batch = drain(polls, append(batch, p))
		case now := <-tick.C:
			l.retryStorage(ctx, now)
			batch = append(batch, l.gatewayPoll(ctx, now))
			l.saveBaselines(now, false)
			telem = append(l.telemetryRecords(now), l.HealthRecords(now)...)
		case r := <-l.swaps:
			l.swap(r)
			continue
		case <-busesDone:
			l.commit(l.step(drain(polls, nil)))
			l.saveBaselines(time.Now(), true)
			return
		}
		l.commit(append(l.step(batch), telem...))
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
func (l *Loop) step(batch []rules.Poll) []outbox.Record {
	if len(batch) == 0 {
		return nil
	}
	for _, p := range batch {
		l.NotePoll(p)
		l.telem.observe(p)
	}
	events := l.Rules().Step(time.Now(), batch)
	sched.Recycle(batch) // every reading is copied where it is kept
	l.askConfirmationReads()
	var recs []outbox.Record
	for _, ev := range events {
		rec, err := l.Record(ev)
		if err != nil {
			l.log.Error("cannot build ticket", "device", ev.Device, "rule", ev.Rule, "err", err)
			continue
		}
		l.log.Info("hazard event", "state", ev.Kind.String(), "device", ev.Device, "rule", ev.Rule, "hazard", ev.Hazard, "level", ev.Level, "ticket", ev.TicketID)
		recs = append(recs, rec)
	}
	return recs
}

// NotePoll records a device's poll for the status message, diag and
// metrics, and logs online/offline changes. Online has hysteresis
// (sched.Health.NotePoll): offline after sched.OfflineAfter failed polls
// in a row (an exception reply is a failed poll: no data), online again at
// the first good one. It is the operational view; the R21 ticket counts
// the same failures but also waits 30 s and 3 good polls (docs/operations.md).
func (l *Loop) NotePoll(p rules.Poll) {
	online, changed, known := l.Devices().NotePoll(p)
	if !known {
		return
	}
	if l.opts.OnPoll != nil {
		dev, _ := l.Devices().Get(p.Device)
		l.opts.OnPoll(dev.Config.Bus, p, online)
	}
	switch {
	case !changed:
	case online:
		l.log.Info("device online", "device", p.Device)
	default:
		l.log.Warn("device offline", "device", p.Device, "failed_polls", sched.OfflineAfter, "err", p.Err)
	}
}

// commit appends the records through the guard in one transaction and
// wakes the uplinks. While the store refuses, the guard keeps them in
// memory with their seqs (ErrNotDurable) and the uplinks publish them all
// the same. The commit does not follow the run's context: events decided
// before a stop are committed too.
func (l *Loop) commit(recs []outbox.Record) {
	if len(recs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	if _, err := l.Append(ctx, recs...); err != nil {
		l.log.Error("EVENTS LOST: the outbox refused them", "events", len(recs), "first_ticket", recs[0].TicketID, "err", err)
	}
}

// Append commits recs through the guard, tells OnCommitted and wakes the
// uplinks; it returns the records with their seqs. A storage fault is not
// an error: the guard keeps the records in memory and they are published.
// Test alarms and operation records (the API) are committed through it too.
func (l *Loop) Append(ctx context.Context, recs ...outbox.Record) ([]outbox.Record, error) {
	committed, err := l.guard.Append(ctx, recs...)
	if err != nil && !errors.Is(err, outbox.ErrNotDurable) {
		return nil, err
	}
	if l.opts.OnCommitted != nil {
		l.opts.OnCommitted(committed)
	}
	l.opts.Notify()
	return committed, nil
}
