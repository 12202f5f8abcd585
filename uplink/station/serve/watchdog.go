package serve

import (
	"context"
	"fmt"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/station/store"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// Watchdog decides, at one instant, which gateways are lost and which gaps
// have been open too long. It reads no clock: Verdict takes now.
type Watchdog struct {
	Heartbeat time.Duration // a status older than this: lost
	GapAlarm  time.Duration // a gap open longer than this: 数据缺失
	// Since is when the service started: a gateway is not lost for a
	// missing heartbeat before Since+Heartbeat (the station itself was
	// away, and the retained status arrives on subscribe).
	Since time.Time
}

// Verdict is the watchdog's view of gws at now.
func (w Watchdog) Verdict(now time.Time, gws []store.Gateway) store.Watch {
	out := store.Watch{At: now, Lost: map[string]string{}}
	for _, g := range gws {
		if reason := w.lost(now, g); reason != "" {
			out.Lost[g.ID] = reason
		}
		for _, gap := range g.OpenGaps {
			if now.Sub(gap.OpenedAt) > w.GapAlarm {
				out.Gaps = append(out.Gaps, gap)
			}
		}
	}
	return out
}

// lost is why g is lost at now, or "".
func (w Watchdog) lost(now time.Time, g store.Gateway) string {
	if g.State == ticket.StatusOffline {
		return "the gateway is offline (its last will, or it stopped) since " + g.LastStatus.Format(time.DateTime)
	}
	last := g.LastStatus
	if last.Before(w.Since) {
		last = w.Since
	}
	if g.LastStatus.IsZero() && g.Events == 0 && g.Telemetry == 0 {
		return "" // only a rejected message named it
	}
	if age := now.Sub(last); age > w.Heartbeat {
		seen := "never"
		if !g.LastStatus.IsZero() {
			seen = g.LastStatus.Format(time.DateTime)
		}
		return fmt.Sprintf("no status heartbeat for %s (more than %s; last %s)", age.Truncate(time.Second), w.Heartbeat, seen)
	}
	return ""
}

// watchStore is what the watchdog loop needs of the store.
type watchStore interface {
	Gateways(ctx context.Context) ([]store.Gateway, error)
	Watch(ctx context.Context, w store.Watch) error
}

// Check applies the verdict at now to the store.
func (w Watchdog) Check(ctx context.Context, st watchStore, now time.Time) error {
	gws, err := st.Gateways(ctx)
	if err != nil {
		return fmt.Errorf("watchdog: %w", err)
	}
	if err := st.Watch(ctx, w.Verdict(now, gws)); err != nil {
		return fmt.Errorf("watchdog: %w", err)
	}
	return nil
}

// loop runs Check every period until ctx is done.
func (w Watchdog) loop(ctx context.Context, st watchStore, period time.Duration, log func(string, ...any)) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if err := w.Check(ctx, st, now); err != nil && ctx.Err() == nil {
				log("station serve: %v", err)
			}
		}
	}
}
