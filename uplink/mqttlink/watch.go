package mqttlink

import (
	"context"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// watch runs, connected or not, until ctx is done: the R25 transmission
// fault check and the outbox maintenance (bound and retention).
func (l *Link) watch(ctx context.Context) {
	every := min(max(l.opts.FaultAfter/20, 20*time.Millisecond), 5*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	var lastMaintain, lastPrune time.Time
	for {
		l.CheckFault(ctx)
		now := l.opts.Now()
		if m, ok := l.opts.Outbox.(outbox.Maintainer); ok {
			if now.Sub(lastPrune) >= l.opts.PruneEvery {
				lastPrune = now
				l.prune(ctx, m, now)
			}
			if l.opts.MaxSize > 0 && now.Sub(lastMaintain) >= l.opts.MaintainEvery {
				lastMaintain = now
				l.evict(ctx, m)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CheckFault evaluates R25 now and returns whether the fault is raised: the
// oldest unsent ticket has waited ≥ FaultAfter and no ticket PUBACK arrived
// for as long (nor since the link started). The onset is logged at ERROR
// and counted; the end is logged when delivery resumes. Run calls it
// periodically; tests may call it directly.
func (l *Link) CheckFault(ctx context.Context) bool {
	st, err := l.opts.Outbox.Stats(ctx)
	if err != nil {
		return l.fault.Load() // keep the last verdict while the outbox is unreadable
	}
	now := l.opts.Now()
	l.mu.Lock()
	lastAck := l.lastTicketAck
	l.mu.Unlock()
	if lastAck.Before(l.started) {
		lastAck = l.started
	}
	waited := time.Duration(0)
	if !st.OldestUnsentTicket.IsZero() {
		waited = now.Sub(st.OldestUnsentTicket)
	}
	raise := waited >= l.opts.FaultAfter && now.Sub(lastAck) >= l.opts.FaultAfter
	switch was := l.fault.Swap(raise); {
	case raise && !was:
		l.faults.Add(1)
		l.log.Error("uplink: TRANSMISSION FAULT (R25): a ticket has waited without PUBACK", "waited", waited.Round(time.Second),
			"threshold", l.opts.FaultAfter, "buffer_depth", st.Depth, "broker", l.Broker(), "connected", l.Connected())
	case !raise && was:
		l.log.Info("uplink: transmission fault cleared: delivery resumed", "buffer_depth", st.Depth)
	}
	return raise
}

// TransmissionFault reports whether R25 is raised.
func (l *Link) TransmissionFault() bool { return l.fault.Load() }

// TransmissionFaults counts R25 onsets since the link was created.
func (l *Link) TransmissionFaults() uint64 { return l.faults.Load() }

func (l *Link) prune(ctx context.Context, m outbox.Maintainer, now time.Time) {
	n, err := m.Prune(ctx, now, l.opts.Retention)
	switch {
	case err != nil && ctx.Err() == nil:
		l.log.Error("uplink: outbox prune failed", "err", err)
	case n > 0:
		l.log.Info("uplink: pruned delivered records past retention", "records", n)
	}
}

func (l *Link) evict(ctx context.Context, m outbox.Maintainer) {
	ev, err := m.Evict(ctx, l.opts.MaxSize)
	if err != nil {
		if ctx.Err() == nil {
			l.log.Error("uplink: outbox eviction failed", "err", err)
		}
		return
	}
	if ev.Telemetry+ev.DeliveredTickets+ev.Tombstoned == 0 {
		if ev.SizeAfter > l.opts.MaxSize {
			l.log.Warn("uplink: outbox over max_size but nothing may be evicted (open level-1 tickets and tombstones stay)",
				"size", ev.SizeAfter, "max_size", l.opts.MaxSize)
		}
		return
	}
	l.log.Warn("uplink: OUTBOX FULL: evicted records to stay under max_size", "max_size", l.opts.MaxSize,
		"size_before", ev.SizeBefore, "size_after", ev.SizeAfter, "telemetry", ev.Telemetry,
		"telemetry_dropped_unsent", ev.DroppedTelemetry, "delivered_tickets", ev.DeliveredTickets,
		"tickets_dropped_tombstoned", ev.Tombstoned)
	l.Notify() // tombstones are pending: publish them
}
