package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/engine"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/sqlite"
)

// outboxStore is what the daemon needs of its outbox store, by interface:
// the guard stores what it kept in memory through Restore (and reserves
// seqs), the local API pages the history and looks up the latest acks in
// the store, and the rule loop restores the open tickets and checks the
// store's file. The SQLite store is the one implementation.
type outboxStore interface {
	outbox.Outbox
	outbox.Restorer
	outbox.SeqReserver
	outbox.Acker
	outbox.HistoryPager
	outbox.LatestAcker
	outbox.FileChecker
	outbox.TicketLister
	Close() error
}

var _ outboxStore = (*sqlite.Store)(nil)

// openOutbox opens the SQLite outbox and wraps it in the guard, through
// which every append and the uplinks go. An outbox that cannot be opened
// for any reason but corruption (permission, read-only filesystem, I/O
// error, missing directory: an *sqlite.OpenError) fails New with a message
// naming buffer.path, so `fenghuo run` exits 1 and the file keeps its
// unsent events; a corrupt one is moved aside by sqlite.Open. A break in
// the outbox's history (st.Continuity(): database missing, moved aside or
// replaced) is logged at ERROR by sqlite.Open and kept for the status.
func (d *Daemon) openOutbox() error {
	st, err := sqlite.Open(d.cfg.Buffer.Path, sqlite.Options{Logger: d.log, Uplinks: d.outboxUplinks()})
	if err != nil {
		return fmt.Errorf("buffer.path %s: %w", d.cfg.Buffer.Path, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	g, err := outbox.NewGuard(ctx, st, outbox.GuardOptions{Logger: d.log})
	if err != nil {
		st.Close()
		return fmt.Errorf("buffer.path %s: %w", d.cfg.Buffer.Path, err)
	}
	d.store, d.guard = st, g
	return nil
}

// commitTimeout bounds opening the guard.
const commitTimeout = 10 * time.Second

// newLoop builds the rule loop over the outbox and the uplink. It
// restores the open hazards, the fallback file of the last stop and the
// creep baselines (gateway/engine).
func (d *Daemon) newLoop(eng *rules.Engine, devs *engine.Devices) error {
	loop, err := engine.New(engine.Options{
		Config: d.cfg, Rules: eng, Devices: devs, Guard: d.guard, Store: d.store, Link: d.link,
		Logger: d.log, Version: d.opts.Version, Notify: d.notifyUplinks, Uplink: d.uplinkHealth, Confirm: d.confirm,
		MQTTOutbox: d.reports[0].Outbox(), Uplinks: d.engineUplinks(),
		OnCommitted: d.committed, OnPoll: d.metrics.NotePoll,
		BaselineEvery: d.opts.baselineEvery, CheckFileEvery: d.opts.checkFileEvery,
	})
	if err != nil {
		return err
	}
	d.loop = loop
	return nil
}
