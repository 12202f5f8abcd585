package engine

import (
	"math"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/configs"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// demoTelemetry builds the telemetry of the demo site (two smoke
// detectors, an electrical-fire detector, a three-phase meter).
func demoTelemetry(t *testing.T, start time.Time) (*Devices, *telemetry) {
	t.Helper()
	cfg, err := config.Parse(configs.Demo)
	if err != nil {
		t.Fatal(err)
	}
	devs := configDevices(t, cfg)
	for _, id := range devs.IDs() {
		devs.SetOnline(id, true)
	}
	tm := newTelemetry(cfg, devs, start)
	if tm == nil {
		t.Fatal("telemetry is off for the demo config")
	}
	return devs, tm
}

func efdPoll(at time.Time, residual float64) rules.Poll {
	return rules.Poll{Device: "efd-1f-main", At: at, OK: true, Readings: []rules.Reading{
		{Point: "alarm_flags", Value: 0},
		{Point: "residual_current", Value: residual, Unit: "mA"},
		{Point: "t1", Value: 31.5, Unit: "°C"},
		{Point: "t3", Value: -200, Unit: "°C", Quality: rules.Absent},
		{Point: "voltage", Value: math.NaN(), Unit: "V", Quality: rules.Bad},
		{Point: "residual_setpoint", Value: 300, Unit: "mA"},
	}}
}

func TestTelemetrySnapshotAndChange(t *testing.T) {
	start := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	devs, tm := demoTelemetry(t, start)
	online := devs.Online
	v := mqtttest.NewValidator(t)

	tm.observe(efdPoll(start.Add(time.Second), 80))
	if msgs := tm.tick(start.Add(2*time.Second), online); len(msgs) != 0 {
		t.Fatalf("a snapshot before every device answered and before %s: %+v", firstSnapshotWithin, msgs)
	}
	msgs := tm.tick(start.Add(firstSnapshotWithin), online)
	if len(msgs) != 1 || msgs[0].Reason != ticket.TelemetryInterval {
		t.Fatalf("want one interval snapshot after %s, got %+v", firstSnapshotWithin, msgs)
	}
	payload, err := msgs[0].Marshal()
	if err != nil {
		t.Fatal(err)
	}
	v.ValidateTelemetry(t, payload)
	got := map[string]ticket.TelemetryValue{}
	if len(msgs[0].Devices) != 1 || msgs[0].Devices[0].ID != "efd-1f-main" {
		t.Fatalf("only the device that answered has values: %+v", msgs[0].Devices)
	}
	for _, val := range msgs[0].Devices[0].Values {
		got[val.Point] = val
	}
	if r := got["residual_current"]; r.Quality != ticket.QualityGood || r.Value == nil || *r.Value != 80 || r.Unit != "mA" {
		t.Errorf("residual_current = %+v, want good 80 mA", r)
	}
	if r := got["t3"]; r.Quality != ticket.QualityAbsent || r.Value != nil {
		t.Errorf("t3 = %+v, want absent with a null value", r)
	}
	if r := got["voltage"]; r.Quality != ticket.QualityBad || r.Value != nil {
		t.Errorf("voltage = %+v, want bad with a null value", r)
	}
	for _, notTelemetry := range []string{"alarm_flags", "residual_setpoint"} {
		if _, ok := got[notTelemetry]; ok {
			t.Errorf("%s is a status word or a setpoint, not telemetry", notTelemetry)
		}
	}

	// Inside the deadband (10 % of 80 mA): nothing; past it, a change
	// report of that point alone; then quiet for min_gap.
	now := start.Add(firstSnapshotWithin)
	tm.observe(efdPoll(now.Add(time.Second), 87))
	if msgs := tm.tick(now.Add(tm.minGap), online); len(msgs) != 0 {
		t.Fatalf("87 mA is inside the 10%% deadband around 80 mA: %+v", msgs)
	}
	tm.observe(efdPoll(now.Add(tm.minGap+time.Second), 95))
	if msgs := tm.tick(now.Add(tm.minGap+time.Second), online); len(msgs) != 1 ||
		msgs[0].Reason != ticket.TelemetryChange || len(msgs[0].Devices[0].Values) != 1 ||
		msgs[0].Devices[0].Values[0].Point != "residual_current" {
		t.Fatalf("95 mA left the deadband: want one change report of residual_current, got %+v", msgs)
	}
	tm.observe(efdPoll(now.Add(tm.minGap+2*time.Second), 300))
	if msgs := tm.tick(now.Add(tm.minGap+2*time.Second), online); len(msgs) != 0 {
		t.Fatalf("a second change report within min_gap: %+v", msgs)
	}
	if msgs := tm.tick(now.Add(2*tm.minGap+time.Second), online); len(msgs) != 1 || *msgs[0].Devices[0].Values[0].Value != 300 {
		t.Fatalf("after min_gap the held change is reported: %+v", msgs)
	}

	// The device goes offline: the next snapshot reports its last values
	// as stale.
	devs.SetOnline("efd-1f-main", false)
	msgs = tm.tick(start.Add(firstSnapshotWithin+tm.interval), online)
	if len(msgs) != 1 || msgs[0].Devices[0].Online {
		t.Fatalf("want a snapshot with the device offline, got %+v", msgs)
	}
	for _, val := range msgs[0].Devices[0].Values {
		if val.Point == "residual_current" && (val.Quality != ticket.QualityStale || *val.Value != 300) {
			t.Errorf("offline device: residual_current = %+v, want stale 300", val)
		}
	}
}

func TestTelemetryStaleWhenNotRead(t *testing.T) {
	start := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	devs, tm := demoTelemetry(t, start)
	online := devs.Online
	tm.observe(efdPoll(start, 80))
	// residual_current is read every 5 s: 3 intervals without a reading.
	msgs := tm.tick(start.Add(16*time.Second), online)
	if len(msgs) != 1 {
		t.Fatalf("want a snapshot, got %+v", msgs)
	}
	for _, val := range msgs[0].Devices[0].Values {
		if val.Point == "residual_current" && val.Quality != ticket.QualityStale {
			t.Errorf("residual_current not read for 16 s (poll 5 s): %+v, want stale", val)
		}
	}
}

func TestTelemetryBoundedPerMessage(t *testing.T) {
	start := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	devs, tm := demoTelemetry(t, start)
	online := devs.Online
	proto := tm.devices[0]
	tm.devices = nil
	for i := 0; i < 2*ticket.MaxTelemetryDevices+1; i++ {
		td := &telemDevice{id: proto.id}
		for _, tp := range proto.points {
			cp := *tp
			cp.last, cp.at = rules.Reading{Point: tp.pt.Name, Value: 1}, start
			td.points = append(td.points, &cp)
		}
		tm.devices = append(tm.devices, td)
	}
	msgs := tm.tick(start.Add(firstSnapshotWithin), online)
	if len(msgs) != 3 {
		t.Fatalf("%d devices: want 3 messages of at most %d, got %d", len(tm.devices), ticket.MaxTelemetryDevices, len(msgs))
	}
	for _, m := range msgs {
		if _, err := m.Marshal(); err != nil {
			t.Error(err)
		}
	}
}
