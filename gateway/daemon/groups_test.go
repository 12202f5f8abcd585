package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// newTestDaemon builds (does not run) a daemon on testConfig with the
// smoke-detector profile and no device poll:, so the profile's intervals
// apply.
func newTestDaemon(t *testing.T, addr string) *Daemon {
	t.Helper()
	return newSmokeDaemon(t, addr, false)
}

// newSmokeDaemon is a daemon polling one smoke-detector at addr, with a
// local socket and metrics in a temporary directory; keepPoll keeps the
// test config's device poll: 200ms instead of the profile's intervals.
func newSmokeDaemon(t *testing.T, addr string, keepPoll bool) *Daemon {
	t.Helper()
	profiles, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	text := fmt.Sprintf(testConfig, addr, "tcp://127.0.0.1:1", filepath.Join(dir, "outbox.db"))
	text = replaceOnce(text, "profile: smoke-485-basic", "profile: smoke-detector")
	if !keepPoll {
		text = replaceOnce(text, "    poll: 200ms\n", "")
	}
	text += fmt.Sprintf("local:\n  socket: %s\n  metrics: 127.0.0.1:0\n", filepath.Join(dir, "fenghuo.sock"))
	cfg, err := config.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Options{Config: cfg, Profiles: profiles, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestOnlineHysteresis: the daemon's online state (status, diag devices,
// metrics) turns offline at the third failed poll in a row, counting an
// exception reply as a failed poll, and online at the first good one.
func TestOnlineHysteresis(t *testing.T) {
	d := newTestDaemon(t, "127.0.0.1:1")
	defer d.store.Close()
	const dev = "smoke-1f-kitchen"
	at := time.Now()
	steps := []struct {
		ok     bool
		err    string
		online bool
	}{
		{true, "", true},
		{false, "slave 1 fc3 @0+2: no reply within the timeout", true},
		{false, "slave 1 fc3 @0+2: modbus exception 4 (server device failure) to fc3", true},
		{false, "slave 1 fc3 @0+2: modbus exception 4 (server device failure) to fc3", false},
		{false, "slave 1 fc3 @0+2: no reply within the timeout", false},
		{true, "", true},
	}
	for i, s := range steps {
		at = at.Add(time.Second)
		d.loop.NotePoll(rules.Poll{Device: dev, At: at, OK: s.ok, Err: s.err})
		st, err := d.views.Status(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		devs, _ := d.views.Devices(t.Context())
		gauge := onlineGauge(t, d, dev)
		if (st.Devices.Online == 1) != s.online || devs.Devices[0].Online != s.online || (gauge == 1) != s.online {
			t.Fatalf("poll %d (ok %v): status online %d, diag online %v, fenghuo_device_online %v; want online %v",
				i, s.ok, st.Devices.Online, devs.Devices[0].Online, gauge, s.online)
		}
	}
}

// TestProfileIntervalsEndToEnd runs the daemon on a simulated smoke
// detector with the profile's intervals (status words 1 s, smoke level 5 s,
// setpoint and identity 10 min): diag devices keeps every point's latest
// value although later polls carry the status words only, and a fire alarm
// is still decided from the 1 s status word.
func TestProfileIntervalsEndToEnd(t *testing.T) {
	profiles, _ := profile.Load("")
	p, _ := profiles.Get("smoke-detector")
	srv := sim.NewServer()
	simDev := srv.AddDevice(1, p)
	addr, err := srv.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	d := newTestDaemon(t, addr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()

	var devs api.Devices
	waitFor(t, 10*time.Second, "three polls", func() bool {
		devs, _ = d.views.Devices(t.Context())
		return devs.Devices[0].PollsOK >= 3
	})
	dv := devs.Devices[0]
	for _, pt := range []string{"status", "fault_detail", "smoke_level", "contamination", "battery", "temperature", "alarm_threshold", "alarm", "serial", "fw_version"} {
		if !hasValue(dv.Values, pt, p.Point(pt).Unit) {
			t.Errorf("diag devices lacks %s after %d polls: %+v", pt, dv.PollsOK, dv.Values)
		}
	}
	if err := simDev.SetBit("status", 1, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the fire alarm", func() bool {
		a, _ := d.views.Alarms(t.Context())
		return len(a.Alarms) == 1 && a.Alarms[0].Hazard == "smoke_fire_alarm"
	})
}

// onlineGauge is fenghuo_device_online of device, from the registry.
func onlineGauge(t *testing.T, d *Daemon, device string) float64 {
	t.Helper()
	mfs, err := d.metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "fenghuo_device_online" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "device" && l.GetValue() == device {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no fenghuo_device_online for %s", device)
	return 0
}
