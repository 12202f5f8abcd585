package localapi

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/sched"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// Metrics are the gateway's Prometheus metrics, on their own registry (not
// the global one, so that tests and several daemons in one process do not
// collide): counters fed by the bus owners and the rule loop, and gauges
// read from snapshots at scrape time (Watch). Counting is always on;
// local.metrics only decides whether /metrics is served.
type Metrics struct {
	reg       *prometheus.Registry
	polls     *prometheus.CounterVec
	readTime  *prometheus.HistogramVec
	online    *prometheus.GaugeVec
	committed *prometheus.CounterVec
	// devs holds each configured device's series, resolved once: a poll
	// costs a map lookup, not a hash of its label values.
	devs map[string]*deviceSeries
}

// deviceSeries are one device's per-poll series, on its configured bus.
// The map that holds them is never changed once built: a device a reload
// moves or removes (Forget) is marked gone, and its polls go through the
// vectors again.
type deviceSeries struct {
	bus        string
	gone       atomic.Bool
	ok, failed prometheus.Counter
	online     prometheus.Gauge
	readTime   prometheus.Observer
}

// cached returns device's resolved series on bus, or nil.
func (m *Metrics) cached(bus, device string) *deviceSeries {
	if s := m.devs[device]; s != nil && s.bus == bus && !s.gone.Load() {
		return s
	}
	return nil
}

// NewMetrics registers the counters of cfg's devices.
func NewMetrics(cfg *config.Config) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fenghuo_polls_total", Help: "Device polls (one sweep of a device's requests, retries included) by result (ok, failed).",
		}, []string{"bus", "device", "result"}),
		readTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fenghuo_poll_duration_seconds", Help: "Duration of one read attempt of a device (all its Modbus requests).",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 10), // 5 ms … 2.56 s
		}, []string{"bus", "device"}),
		online: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fenghuo_device_online",
			Help: fmt.Sprintf("1 if the device is online (its last poll delivered data, or fewer than %d in a row failed since one did), else 0.", sched.OfflineAfter),
		}, []string{"bus", "device"}),
		committed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fenghuo_events_committed_total", Help: "Ticket events committed to the outbox since start, by state.",
		}, []string{"state"}),
	}
	m.devs = make(map[string]*deviceSeries, len(cfg.Devices))
	for _, dc := range cfg.Devices {
		m.devs[dc.ID] = m.series(dc.Bus, dc.ID)
	}
	for _, s := range []string{"open", "escalate", "clear"} {
		m.committed.WithLabelValues(s)
	}
	m.reg.MustRegister(m.polls, m.readTime, m.online, m.committed,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Watch registers the gauges read from v at every scrape (call it once).
func (m *Metrics) Watch(v *Views) {
	m.reg.MustRegister(&scrapeCollector{v: v}, &lineCollector{v: v})
}

// Registry is what /metrics serves.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// NotePoll counts one poll outcome and sets the device's online state.
func (m *Metrics) NotePoll(bus string, p rules.Poll, online bool) {
	result, up := "ok", 0.0
	if !p.OK {
		result = "failed"
	}
	if online {
		up = 1
	}
	if s := m.cached(bus, p.Device); s != nil {
		c := s.ok
		if !p.OK {
			c = s.failed
		}
		c.Inc()
		s.online.Set(up)
		return
	}
	m.polls.WithLabelValues(bus, p.Device, result).Inc()
	m.online.WithLabelValues(bus, p.Device).Set(up)
}

// ObserveRead records how long one read attempt of a device took.
func (m *Metrics) ObserveRead(bus, device string, took time.Duration) {
	if s := m.cached(bus, device); s != nil {
		s.readTime.Observe(took.Seconds())
		return
	}
	m.readTime.WithLabelValues(bus, device).Observe(took.Seconds())
}

// series creates a device's per-poll series (online 0, no polls yet).
func (m *Metrics) series(bus, id string) *deviceSeries {
	s := &deviceSeries{
		bus: bus, ok: m.polls.WithLabelValues(bus, id, "ok"), failed: m.polls.WithLabelValues(bus, id, "failed"),
		online: m.online.WithLabelValues(bus, id), readTime: m.readTime.WithLabelValues(bus, id),
	}
	s.online.Set(0)
	return s
}

// NoteCommitted counts committed records by state.
func (m *Metrics) NoteCommitted(recs []outbox.Record) {
	for _, r := range recs {
		if r.IsTicket() {
			m.committed.WithLabelValues(r.State).Inc()
		}
	}
}

// scrapeCollector reads, at scrape time, what lives elsewhere: the outbox,
// the uplinks and the rule engine.
type scrapeCollector struct{ v *Views }

var (
	descDropped   = prometheus.NewDesc("fenghuo_outbox_dropped_total", "Unsent records the bounded outbox dropped, by kind (ticket, telemetry).", []string{"kind"}, nil)
	descLastSeq   = prometheus.NewDesc("fenghuo_outbox_last_seq", "Last ticket seq assigned.", nil, nil)
	descOutboxErr = prometheus.NewDesc("fenghuo_outbox_up", "1 if the outbox could be read at this scrape.", nil, nil)
	descOpen      = prometheus.NewDesc("fenghuo_open_hazards", "Open hazard episodes (tickets) by level (1 most urgent).", []string{"level"}, nil)
	descPhases    = prometheus.NewDesc("fenghuo_rules", "Rules (per device) by phase: inactive, pending, firing, clearing.", []string{"phase"}, nil)
	descFrozen    = prometheus.NewDesc("fenghuo_rules_frozen", "Rules waiting because their device is offline.", nil, nil)
	descInfo      = prometheus.NewDesc("fenghuo_build_info", "Always 1; the version and gateway as labels.", []string{"version", "gateway"}, nil)
	descStart     = prometheus.NewDesc("fenghuo_start_time_seconds", "When the daemon started (Unix time).", nil, nil)
	descStorage   = prometheus.NewDesc("fenghuo_storage_fault", "1 while the outbox refuses writes or its file is gone (events are kept in memory and published).", nil, nil)
	descNotDur    = prometheus.NewDesc("fenghuo_outbox_not_durable", "Events kept only in memory because the outbox refuses writes.", nil, nil)
	descNotDurB   = prometheus.NewDesc("fenghuo_outbox_not_durable_bytes", "Bytes of the events kept only in memory (bounded).", nil, nil)
	descMemShed   = prometheus.NewDesc("fenghuo_outbox_memory_shed_total", "Events the memory queue of a storage fault shed, by kind: telemetry, delivered, tombstoned, lost (dropped without a tombstone).", []string{"kind"}, nil)
)

func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDropped, descLastSeq, descOutboxErr, descOpen, descPhases, descFrozen, descInfo, descStart,
		descStorage, descNotDur, descNotDurB, descMemShed} {
		ch <- d
	}
	for _, d := range uplinkDescs {
		ch <- d
	}
}

func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	v := c.v
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	counter := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, v, labels...)
	}
	now := time.Now()
	gauge(descInfo, 1, v.opts.Version, v.cfg.Gateway.ID)
	gauge(descStart, float64(v.opts.Started.UnixNano())/1e9)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	gs := v.opts.Guard.GuardStats()
	storage := 0.0
	if v.loop.StorageFault(now) {
		storage = 1
	}
	gauge(descStorage, storage)
	gauge(descNotDur, float64(gs.NotDurable))
	gauge(descNotDurB, float64(gs.NotDurableBytes))
	counter(descMemShed, float64(gs.ShedTelemetry), "telemetry")
	counter(descMemShed, float64(gs.ShedDelivered), "delivered")
	counter(descMemShed, float64(gs.ShedTickets), "tombstoned")
	counter(descMemShed, float64(gs.Lost), "lost")
	if s, err := v.opts.Guard.Stats(ctx); err != nil {
		gauge(descOutboxErr, 0)
	} else {
		gauge(descOutboxErr, 1)
		counter(descDropped, float64(s.DroppedTickets), "ticket")
		counter(descDropped, float64(s.DroppedTelemetry), "telemetry")
		gauge(descLastSeq, float64(s.LastSeq))
	}
	c.collectUplinks(ctx, now, gauge, counter) // per uplink: uplinks.go
	c.collectRules(now, gauge)
}

func (c *scrapeCollector) collectRules(now time.Time, gauge func(*prometheus.Desc, float64, ...string)) {
	levels := map[int]int{1: 0, 2: 0, 3: 0, 4: 0}
	for _, o := range c.v.loop.Rules().Open() {
		levels[o.Level]++
	}
	for lv, n := range levels {
		gauge(descOpen, float64(n), strconv.Itoa(lv))
	}
	phases := map[rules.Phase]int{rules.Inactive: 0, rules.Pending: 0, rules.Firing: 0, rules.Clearing: 0}
	frozen := 0
	for _, rs := range c.v.loop.Rules().Explain(now) {
		phases[rs.Phase]++
		if rs.Frozen {
			frozen++
		}
	}
	for ph, n := range phases {
		gauge(descPhases, float64(n), ph.String())
	}
	gauge(descFrozen, float64(frozen))
}

// Forget drops the series of a device a reload removed or moved to
// another bus (a removed device would otherwise show its last online
// state for ever).
func (m *Metrics) Forget(bus, device string) {
	if s := m.devs[device]; s != nil && s.bus == bus {
		s.gone.Store(true)
	}
	l := prometheus.Labels{"bus": bus, "device": device}
	m.polls.DeletePartialMatch(l)
	m.readTime.DeletePartialMatch(l)
	m.online.DeletePartialMatch(l)
}
