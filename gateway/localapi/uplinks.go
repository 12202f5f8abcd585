package localapi

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
)

// Uplink is what the API and /metrics read of one uplink (gateway/uplinks
// implements it for the MQTT link and the GB/T 26875.3 centre link): its
// link and its own view of the outbox.
type Uplink interface {
	Name() string
	Peer() string
	Connected() bool
	LastDelivery() time.Time
	TransmissionFault() bool
	ClockOffset() (time.Duration, bool)
	Outbox() outbox.Outbox
}

// uplinkStates is every uplink's state, in Options.Uplinks order.
func (v *Views) uplinkStates(ctx context.Context, now time.Time) []api.UplinkState {
	out := make([]api.UplinkState, 0, len(v.opts.Uplinks))
	for _, u := range v.opts.Uplinks {
		out = append(out, uplinkState(ctx, u, now))
	}
	return out
}

func uplinkState(ctx context.Context, u Uplink, now time.Time) api.UplinkState {
	st := api.UplinkState{
		Name: u.Name(), Peer: sanitize.Line(u.Peer()), Connected: u.Connected(),
		LastDeliveryAt: u.LastDelivery(), TransmissionFault: u.TransmissionFault(),
	}
	if off, ok := u.ClockOffset(); ok {
		ms := off.Milliseconds()
		st.ClockOffsetMS = &ms
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, err := u.Outbox().Stats(ctx)
	if err != nil {
		st.Error = err.Error()
		return st
	}
	st.Depth, st.Sent = s.Depth, s.Sent
	if !s.OldestUnsent.IsZero() {
		st.OldestUnsentAt = s.OldestUnsent
		st.OldestUnsentAgeS = max(now.Sub(s.OldestUnsent).Seconds(), 0)
	}
	return st
}

// Per-uplink metrics: the label uplink is "mqtt" or "gb26875".
var (
	descDepth     = prometheus.NewDesc("fenghuo_outbox_depth", "Records the uplink has not delivered yet (each uplink has its own delivery cursor).", []string{"uplink"}, nil)
	descOldest    = prometheus.NewDesc("fenghuo_outbox_oldest_unsent_age_seconds", "Age of the oldest record the uplink has not delivered; 0 when none waits.", []string{"uplink"}, nil)
	descSent      = prometheus.NewDesc("fenghuo_outbox_sent_total", "Records the uplink's peer acknowledged (MQTT PUBACK, the centre's confirm), over the outbox's life.", []string{"uplink"}, nil)
	descConnected = prometheus.NewDesc("fenghuo_uplink_connected", "1 while the uplink has a session with its peer (the broker, the centre).", []string{"uplink"}, nil)
	descLastPub   = prometheus.NewDesc("fenghuo_uplink_last_publish_timestamp_seconds", "When the uplink's peer last acknowledged a record (Unix time); 0 before.", []string{"uplink"}, nil)
	descFault     = prometheus.NewDesc("fenghuo_uplink_transmission_fault", "1 while the uplink's transmission fault (R25) is raised.", []string{"uplink"}, nil)
	descClock     = prometheus.NewDesc("fenghuo_uplink_clock_offset_seconds", "The peer's clock minus the gateway's, when the uplink knows it.", []string{"uplink"}, nil)
	uplinkDescs   = []*prometheus.Desc{descDepth, descOldest, descSent, descConnected, descLastPub, descFault, descClock}
)

// collectUplinks reads each uplink's gauges at scrape time; a view that
// cannot be read leaves its outbox gauges out (fenghuo_outbox_up says the
// outbox could not be read).
func (c *scrapeCollector) collectUplinks(ctx context.Context, now time.Time, gauge, counter func(*prometheus.Desc, float64, ...string)) {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	for _, u := range c.v.opts.Uplinks {
		name := u.Name()
		gauge(descConnected, b(u.Connected()), name)
		last := 0.0
		if lp := u.LastDelivery(); !lp.IsZero() {
			last = float64(lp.UnixNano()) / 1e9
		}
		gauge(descLastPub, last, name)
		gauge(descFault, b(u.TransmissionFault()), name)
		if off, ok := u.ClockOffset(); ok {
			gauge(descClock, off.Seconds(), name)
		}
		s, err := u.Outbox().Stats(ctx)
		if err != nil {
			continue
		}
		gauge(descDepth, float64(s.Depth), name)
		age := 0.0
		if !s.OldestUnsent.IsZero() {
			age = now.Sub(s.OldestUnsent).Seconds()
		}
		gauge(descOldest, age, name)
		counter(descSent, float64(s.Sent), name)
	}
}
