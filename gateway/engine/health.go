package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// FirstHealthAfter is when the first health report goes out after the
// start (at most; sooner when uplink.health_interval is shorter), so a
// platform hears from a newly installed gateway the same day.
const FirstHealthAfter = 5 * time.Minute

// selfTestRule and selfTestHazard name the gateway's periodic self-test
// event: a `test` ticket of the gateway, never an alarm (GB/T 45839 5.8.4).
const (
	selfTestRule   = "ST"
	selfTestHazard = "gateway_self_test"
)

// health makes the periodic health report and self-test (DESIGN §8.4:
// at least every 24 h). It is the rule loop's.
type health struct {
	interval time.Duration
	next     time.Time
	since    time.Time             // start of the period the report covers
	base     map[string]pollCounts // each device's counters at its start
}

type pollCounts struct{ ok, failed uint64 }

func newHealth(interval time.Duration, now time.Time) *health {
	if interval <= 0 {
		return nil
	}
	return &health{interval: interval, next: now.Add(min(interval, FirstHealthAfter)), since: now, base: map[string]pollCounts{}}
}

// HealthRecords returns, when the report is due at now, the health report
// (lowest priority, on the telemetry topic) and the self-test event. The
// loop calls it every second; anyone else only while Run does not run.
func (l *Loop) HealthRecords(now time.Time) []outbox.Record {
	h := l.health
	if h == nil || now.Before(h.next) {
		return nil
	}
	rep := l.healthReport(now)
	h.since, h.next = now, now.Add(h.interval)
	var recs []outbox.Record
	if payload, err := rep.Marshal(); err != nil {
		l.log.Error("cannot build the health report", "err", err)
	} else {
		recs = append(recs, outbox.Record{EventID: ticket.NewEventID(now), Priority: outbox.PriorityTelemetry, Payload: payload, CreatedAt: now})
	}
	if rec, err := l.selfTestRecord(rep.SelfTest, now); err != nil {
		l.log.Error("cannot build the self-test event", "err", err)
	} else {
		recs = append(recs, rec)
	}
	lvl := "self-test passed"
	if !rep.SelfTest.OK {
		lvl = "SELF-TEST FAILED"
	}
	l.log.Info(lvl, "bus", rep.SelfTest.Bus, "storage", rep.SelfTest.Storage, "uplink", rep.SelfTest.Uplink,
		"storage_free_bytes", rep.Storage.FreeBytes, "storage_error", rep.Storage.Error)
	return recs
}

// healthReport gathers the report at now and starts the next period.
func (l *Loop) healthReport(now time.Time) ticket.Health {
	h := l.health
	rep := ticket.Health{
		Schema: ticket.HealthSchema, Gateway: ticket.HealthGateway{ID: l.Config().Gateway.ID}, At: ticket.FormatTime(now),
		PeriodS: now.Sub(h.since).Seconds(), Version: l.opts.Version, ConfigHash: l.ConfigHash(),
	}
	busOK := map[string]bool{}
	for _, v := range l.Devices().Snapshot() {
		id := v.Config.ID
		b := h.base[id]
		hd := ticket.HealthDevice{ID: id, Online: v.Online, PollsOK: v.OK - b.ok, Polls: v.OK - b.ok + v.Failed - b.failed}
		if hd.Polls > 0 {
			r := float64(hd.PollsOK) / float64(hd.Polls)
			hd.SuccessRate = &r
		}
		if !v.LastOK.IsZero() {
			hd.LastOKAt = ticket.FormatTime(v.LastOK)
		}
		hd.BatteryPct = goodValue(v.Values, "battery")
		if hd.Signal = goodValue(v.Values, "signal"); hd.Signal == nil {
			hd.Signal = goodValue(v.Values, "rssi")
		}
		busOK[v.Config.Bus] = busOK[v.Config.Bus] || hd.PollsOK > 0
		h.base[id] = pollCounts{ok: v.OK, failed: v.Failed}
		rep.Devices = append(rep.Devices, hd)
	}
	rep.Storage = checkStorage(l.Config().Buffer.Path)
	if l.opts.Uplink != nil {
		rep.Uplink = l.opts.Uplink()
	}
	st := ticket.SelfTest{Bus: true, Storage: rep.Storage.WriteOK, Uplink: rep.Uplink.Connected && !rep.Uplink.TransmissionFault}
	for _, ok := range busOK {
		st.Bus = st.Bus && ok
	}
	st.OK = st.Bus && st.Storage && st.Uplink
	rep.SelfTest = st
	return rep
}

// goodValue is the point's last good value among vals, or nil.
func goodValue(vals []rules.Reading, point string) *float64 {
	for _, r := range vals {
		if r.Point == point && r.Quality == rules.Good {
			v := r.Value
			return &v
		}
	}
	return nil
}

// checkStorage reports the free space of the outbox's filesystem and
// writes, fsyncs and removes a small file beside the outbox.
func checkStorage(dbPath string) ticket.HealthStorage {
	dir := filepath.Dir(dbPath)
	hs := ticket.HealthStorage{Path: dir}
	var fs syscall.Statfs_t
	if err := syscall.Statfs(dir, &fs); err == nil {
		hs.FreeBytes = fs.Bavail * uint64(fs.Bsize)
		hs.TotalBytes = fs.Blocks * uint64(fs.Bsize)
	}
	start := time.Now()
	err := writeSync(dbPath+".selftest", make([]byte, 4096))
	hs.WriteMS = float64(time.Since(start).Microseconds()) / 1000
	if err != nil {
		hs.Error = err.Error()
	} else {
		hs.WriteOK = true
	}
	return hs
}

func writeSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	rerr := os.Remove(path)
	for _, e := range []error{werr, serr, cerr, rerr} {
		if e != nil {
			return e
		}
	}
	return nil
}

// selfTestRecord is the self-test as a `test` ticket event of the gateway:
// evidence self_test 1 passed, 0 failed.
func (l *Loop) selfTestRecord(st ticket.SelfTest, now time.Time) (outbox.Record, error) {
	v := 0.0
	if st.OK {
		v = 1
	}
	ev := rules.Event{
		Kind: rules.Test, Device: l.Config().Gateway.ID, Rule: selfTestRule, Hazard: selfTestHazard, Level: 4, At: now,
		TicketID:        fmt.Sprintf("%s/%s/test-%s", l.Config().Gateway.ID, selfTestRule, now.UTC().Format("20060102T150405.000")),
		OccurrenceCount: 1,
		Evidence:        rules.Evidence{Point: "self_test", Value: &v},
	}
	rec, err := l.Record(ev)
	if err != nil {
		return rec, err
	}
	rec.Priority = outbox.PriorityTicket
	return rec, nil
}
