package engine

import (
	"math"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// staleAfter is how many of a point's poll intervals may pass without a
// new reading before telemetry reports its last value as stale.
const staleAfter = 3

// firstSnapshotWithin bounds the wait for every device's first answer
// before the first periodic snapshot goes out anyway.
const firstSnapshotWithin = 10 * time.Second

// telemetry builds the fenghuo.telemetry.v1 messages (DESIGN §5): a
// snapshot of every device's analog values each interval, and between
// them a report by exception for the points that left their profile
// deadband, at most one every minGap. It is owned by the rule loop.
type telemetry struct {
	gateway  string
	interval time.Duration
	minGap   time.Duration // 0: no report by exception
	devices  []*telemDevice
	started  time.Time

	lastSnapshot, lastChange time.Time
}

// telemDevice is one device's telemetry points, in profile order.
type telemDevice struct {
	id     string
	points []*telemPoint
	seen   bool
}

// telemPoint is one analog point: its last reading and the value last
// reported.
type telemPoint struct {
	pt       *profile.Point
	poll     time.Duration
	deadband profile.Deadband
	last     rules.Reading
	at       time.Time // when last was read; zero: never
	reported float64
	hasRep   bool
}

// newTelemetry returns nil when telemetry is off.
func newTelemetry(cfg *config.Config, devs *Devices, now time.Time) *telemetry {
	tc := cfg.Uplink.Telemetry
	if !tc.Enabled || tc.Interval <= 0 {
		return nil
	}
	t := &telemetry{gateway: cfg.Gateway.ID, interval: tc.Interval, minGap: tc.MinGap, started: now}
	for _, dev := range devs.List() {
		td := &telemDevice{id: dev.Config.ID}
		for i := range dev.Profile.Points {
			pt := &dev.Profile.Points[i]
			if !pt.Telemetry() {
				continue
			}
			td.points = append(td.points, &telemPoint{pt: pt, poll: dev.Profile.PollOf(pt), deadband: pt.DeadbandOf()})
		}
		if len(td.points) > 0 {
			t.devices = append(t.devices, td)
		}
	}
	if len(t.devices) == 0 {
		return nil
	}
	return t
}

// observe keeps the readings of one poll.
func (t *telemetry) observe(p rules.Poll) {
	if t == nil || !p.OK {
		return
	}
	for _, td := range t.devices {
		if td.id != p.Device {
			continue
		}
		td.seen = true
		for _, r := range p.Readings {
			for _, tp := range td.points {
				if tp.pt.Name == r.Point {
					tp.last, tp.at = r, p.At
				}
			}
		}
		return
	}
}

// tick returns the messages due at now: the periodic snapshot, or else a
// change report. online says whether a device is online.
func (t *telemetry) tick(now time.Time, online func(id string) bool) []ticket.Telemetry {
	if t == nil {
		return nil
	}
	if t.snapshotDue(now) {
		t.lastSnapshot, t.lastChange = now, now
		return t.build(now, ticket.TelemetryInterval, online, func(*telemPoint) bool { return true })
	}
	if t.minGap <= 0 || now.Sub(t.lastChange) < t.minGap {
		return nil
	}
	msgs := t.build(now, ticket.TelemetryChange, online, func(tp *telemPoint) bool {
		v, ok := tp.good()
		return ok && tp.hasRep && tp.deadband.Exceeded(tp.reported, v)
	})
	if len(msgs) > 0 {
		t.lastChange = now
	}
	return msgs
}

// snapshotDue: every interval, the first one once every device answered
// (or firstSnapshotWithin after the start).
func (t *telemetry) snapshotDue(now time.Time) bool {
	if !t.lastSnapshot.IsZero() {
		return now.Sub(t.lastSnapshot) >= t.interval
	}
	if now.Sub(t.started) >= firstSnapshotWithin {
		return true
	}
	for _, td := range t.devices {
		if !td.seen {
			return false
		}
	}
	return true
}

// good returns the point's value when its last reading is a usable number.
func (tp *telemPoint) good() (float64, bool) {
	v := tp.last.Value
	return v, !tp.at.IsZero() && tp.last.Quality == rules.Good && !math.IsNaN(v) && !math.IsInf(v, 0)
}

// build makes the messages for the points pick selects, at most
// MaxTelemetryDevices devices each, and notes what was reported.
func (t *telemetry) build(now time.Time, reason string, online func(id string) bool, pick func(*telemPoint) bool) []ticket.Telemetry {
	var devs []ticket.TelemetryDevice
	for _, td := range t.devices {
		on := online(td.id)
		var vals []ticket.TelemetryValue
		for _, tp := range td.points {
			if tp.at.IsZero() || !pick(tp) {
				continue
			}
			vals = append(vals, tp.value(now, on))
			if v, ok := tp.good(); ok {
				tp.reported, tp.hasRep = v, true
			}
		}
		if len(vals) > 0 {
			devs = append(devs, ticket.TelemetryDevice{ID: td.id, Online: on, Values: vals})
		}
	}
	var msgs []ticket.Telemetry
	for len(devs) > 0 {
		n := min(len(devs), ticket.MaxTelemetryDevices)
		msgs = append(msgs, ticket.Telemetry{
			Schema: ticket.TelemetrySchema, Gateway: ticket.TelemetryGateway{ID: t.gateway},
			At: ticket.FormatTime(now), Reason: reason, Devices: devs[:n:n],
		})
		devs = devs[n:]
	}
	return msgs
}

// value is the point as reported at now: good, stale (offline, or not read
// for staleAfter intervals), absent or bad.
func (tp *telemPoint) value(now time.Time, online bool) ticket.TelemetryValue {
	tv := ticket.TelemetryValue{Point: tp.pt.Name, Unit: tp.pt.Unit, At: ticket.FormatTime(tp.at)}
	v, ok := tp.good()
	switch {
	case tp.last.Quality == rules.Absent:
		tv.Quality = ticket.QualityAbsent
	case !ok:
		tv.Quality = ticket.QualityBad
	case !online || now.Sub(tp.at) > staleAfter*tp.poll:
		tv.Quality, tv.Value = ticket.QualityStale, &v
	default:
		tv.Quality, tv.Value = ticket.QualityGood, &v
	}
	return tv
}

// telemetryRecords turns the messages due at now into outbox records.
func (l *Loop) telemetryRecords(now time.Time) []outbox.Record {
	msgs := l.telem.tick(now, l.Devices().Online)
	recs := make([]outbox.Record, 0, len(msgs))
	for _, m := range msgs {
		payload, err := m.Marshal()
		if err != nil {
			l.log.Error("cannot build telemetry", "err", err)
			continue
		}
		recs = append(recs, outbox.Record{
			EventID: ticket.NewEventID(now), Priority: outbox.PriorityTelemetry, Payload: payload, CreatedAt: now,
		})
	}
	return recs
}
