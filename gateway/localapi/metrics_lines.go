package localapi

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// lineCollector reads, at scrape time, what the bus owners measured
// (sched.Meter): each line's busy share and each device's achieved
// interval against its planned one.
type lineCollector struct{ v *Views }

var (
	descBusUtil = prometheus.NewDesc("fenghuo_bus_utilisation_ratio",
		"Share of wall time (0..1) the line was busy with requests over the last 1-2 minutes (reads, retries, confirmation reads, diag jobs).", []string{"bus"}, nil)
	descBusBusy = prometheus.NewDesc("fenghuo_bus_busy_seconds_total",
		"Time the line was busy with requests since the daemon started.", []string{"bus"}, nil)
	descAchieved = prometheus.NewDesc("fenghuo_device_poll_interval_seconds",
		"Achieved interval of the device's first read group (status and alarm words): the mean time between its polls over the last 1-2 minutes, or the time since its last poll once that is over twice the mean. Absent before its second poll.", []string{"bus", "device"}, nil)
	descPlanned = prometheus.NewDesc("fenghuo_device_poll_interval_planned_seconds",
		"Planned interval of the device's first read group.", []string{"bus", "device"}, nil)
)

func (c *lineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBusUtil, descBusBusy, descAchieved, descPlanned} {
		ch <- d
	}
}

func (c *lineCollector) Collect(ch chan<- prometheus.Metric) {
	devs := c.v.loop.Devices()
	now := time.Now()
	meters := devs.Meters()
	for _, bus := range devs.BusNames() {
		st := meters[bus].Line(now)
		ch <- prometheus.MustNewConstMetric(descBusUtil, prometheus.GaugeValue, st.Utilisation, bus)
		ch <- prometheus.MustNewConstMetric(descBusBusy, prometheus.CounterValue, st.Busy.Seconds(), bus)
	}
	for _, d := range devs.List() {
		bus, id := d.Config.Bus, d.Config.ID
		m := meters[bus]
		if m == nil {
			continue
		}
		if iv, ok := m.Achieved(id, now); ok {
			ch <- prometheus.MustNewConstMetric(descAchieved, prometheus.GaugeValue, iv.Seconds(), bus, id)
		}
	}
	for _, pv := range devs.Planned() {
		ch <- prometheus.MustNewConstMetric(descPlanned, prometheus.GaugeValue, pv.Interval.Seconds(), pv.Bus, pv.Device)
	}
}
