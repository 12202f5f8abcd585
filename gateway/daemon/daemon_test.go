package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbustest"
	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

const testConfig = `
gateway:
  id: gw-330502103-test-01
  site:
    name: 云村文化礼堂
    township: 织里镇
    township_code: "330502103"
    community: 云村
    address: 湖州市吴兴区织里镇云村
buses:
  - name: lan
    type: tcp
    address: %s
    timeout: 500ms
    retries: 0
devices:
  - id: smoke-1f-kitchen
    name: 一楼厨房烟感
    bus: lan
    slave: 1
    profile: smoke-485-basic
    location: 一楼厨房
    poll: 200ms
uplink:
  mqtt:
    broker: %s
    connect_spread: 0s          # one gateway, no fleet: connect at once
  heartbeat: 30s
  telemetry: {enabled: false}   # these tests count ticket records; telemetry_test.go covers telemetry
buffer:
  path: %s
`

// startDaemon runs a daemon on cfgText until the test ends or stop is called.
func startDaemon(t testing.TB, cfgText string, onCommitted func(outbox.Record)) (stop func()) {
	t.Helper()
	_, stop = runDaemon(t, cfgText, Options{OnCommitted: onCommitted})
	return stop
}

// runDaemon is startDaemon with more options (Config, Profiles and
// Version are filled in) and the daemon itself.
func runDaemon(t testing.TB, cfgText string, opts Options) (d *Daemon, stop func()) {
	t.Helper()
	d = newDaemon(t, cfgText, opts)
	return d, runUntilStopped(t, d)
}

// newDaemon builds a daemon on cfgText without running it.
func newDaemon(t testing.TB, cfgText string, opts Options) *Daemon {
	t.Helper()
	cfg, err := config.Parse([]byte(cfgText))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	localInTemp(t, cfg)
	profiles, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	opts.Config, opts.Profiles, opts.Version = cfg, profiles, "test"
	d, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// runUntilStopped runs d until the test ends or stop is called.
func runUntilStopped(t testing.TB, d *Daemon) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("daemon Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("daemon did not stop within 15 s of its context being cancelled")
		}
	}
	t.Cleanup(stop)
	return stop
}

// TestSmokeAlarmEndToEnd: a real pymodbus slave raises register 0x0010 and a
// real mosquitto receives an open ticket, then a clear when it drops.
func TestSmokeAlarmEndToEnd(t *testing.T) {
	slave := modbustest.Start(t, map[uint8]map[uint16]uint16{1: {16: 0}})
	broker := mqtttest.StartMosquitto(t)
	validator := mqtttest.NewValidator(t)
	tickets := mqtttest.Subscribe(t, broker.URL(), "fenghuo/v1/330502103/gw-330502103-test-01/tickets")
	dbPath := filepath.Join(t.TempDir(), "outbox.db")
	startDaemon(t, fmt.Sprintf(testConfig, slave.Addr, broker.URL(), dbPath), nil)

	slave.SetHolding(1, 16, 1)
	msgs := tickets.WaitFor(1, 15*time.Second)
	open := decode(t, validator, msgs[0].Payload)
	if open.State != "open" || open.Hazard != "smoke_fire_alarm" || open.Level != 1 || open.Seq != 1 {
		t.Fatalf("first ticket = state %s hazard %s level %d seq %d, want open smoke_fire_alarm level 1 seq 1", open.State, open.Hazard, open.Level, open.Seq)
	}
	if open.Device.ID != "smoke-1f-kitchen" || open.Gateway.Site.TownshipCode != "330502103" || open.Label.Zh != "烟感火警" {
		t.Fatalf("ticket identity wrong: %+v", open)
	}

	slave.SetHolding(1, 16, 0)
	msgs = tickets.WaitFor(2, 15*time.Second)
	clr := decode(t, validator, msgs[1].Payload)
	if clr.State != "clear" || clr.TicketID != open.TicketID || clr.Seq != 2 || clr.EventID == open.EventID {
		t.Fatalf("second ticket = %s %s seq %d, want a clear of ticket %s with seq 2 and its own event_id", clr.State, clr.TicketID, clr.Seq, open.TicketID)
	}
	if clr.GBT45839Status != 1 || open.GBT45839Status != 2 {
		t.Fatalf("gbt45839_status open %d clear %d, want 2 and 1", open.GBT45839Status, clr.GBT45839Status)
	}
}

// TestRestartResumesReplayWithoutReopening: an alarm raised while the broker
// is down survives a daemon restart, is delivered once the broker returns,
// and the restarted engine does not open the same hazard again.
func TestRestartResumesReplayWithoutReopening(t *testing.T) {
	slave := modbustest.Start(t, map[uint8]map[uint16]uint16{1: {16: 0}})
	broker := mqtttest.StartMosquitto(t)
	validator := mqtttest.NewValidator(t)
	dbPath := filepath.Join(t.TempDir(), "outbox.db")
	cfgText := fmt.Sprintf(testConfig, slave.Addr, broker.URL(), dbPath)

	broker.Stop()
	var committed atomic.Int32
	stop := startDaemon(t, cfgText, func(outbox.Record) { committed.Add(1) })
	slave.SetHolding(1, 16, 1)
	waitFor(t, 15*time.Second, "the alarm committed to the outbox", func() bool { return committed.Load() >= 1 })
	stop()

	broker.Start()
	tickets := mqtttest.Subscribe(t, broker.URL(), "fenghuo/v1/+/+/tickets")
	var recommitted atomic.Int32
	d, _ := runDaemon(t, cfgText, Options{OnCommitted: func(outbox.Record) { recommitted.Add(1) }})
	msgs := tickets.WaitFor(1, 20*time.Second)
	got := decode(t, validator, msgs[0].Payload)
	if got.State != "open" || got.Seq != 1 || !got.Buffered {
		t.Fatalf("replayed ticket: state %s seq %d buffered %v, want open seq 1 buffered", got.State, got.Seq, got.Buffered)
	}
	// The alarm is still on: the restarted engine must not open it again.
	polls := func() uint64 {
		devs, _ := d.views.Devices(t.Context())
		return devs.Devices[0].PollsOK
	}
	after := polls()
	waitFor(t, 10*time.Second, "five more polls with the bit still set", func() bool { return polls() >= after+5 })
	if n := recommitted.Load(); n != 0 {
		t.Fatalf("after restart %d records were committed with the alarm still on, want none", n)
	}
	if extra := tickets.Messages(); len(extra) != 1 {
		t.Fatalf("after restart %d tickets were published, want only the replayed one", len(extra))
	}
	slave.SetHolding(1, 16, 0)
	msgs = tickets.WaitFor(2, 15*time.Second)
	clr := decode(t, validator, msgs[1].Payload)
	if clr.State != "clear" || clr.TicketID != got.TicketID || clr.Seq != 2 {
		t.Fatalf("clear after restart: %s %s seq %d, want clear of %s seq 2", clr.State, clr.TicketID, clr.Seq, got.TicketID)
	}
}

func decode(t *testing.T, v *mqtttest.Validator, payload []byte) ticket.Ticket {
	t.Helper()
	v.Validate(t, payload)
	var tk ticket.Ticket
	if err := json.Unmarshal(payload, &tk); err != nil {
		t.Fatalf("ticket JSON: %v\n%s", err, payload)
	}
	return tk
}

func waitFor(t *testing.T, max time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(max)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", max, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func replaceOnce(s, old, new string) string {
	i := strings.Index(s, old)
	if i < 0 {
		panic("replaceOnce: " + old + " not found")
	}
	return s[:i] + new + s[i+len(old):]
}

// testingPoll reads FENGHUO_BENCH_POLL (a duration) for the benchmarks.
func testingPoll() time.Duration {
	d, _ := time.ParseDuration(os.Getenv("FENGHUO_BENCH_POLL"))
	return d
}

func decodeNoSchema(t testing.TB, payload []byte) ticket.Ticket {
	t.Helper()
	var tk ticket.Ticket
	if err := json.Unmarshal(payload, &tk); err != nil {
		t.Fatalf("ticket JSON: %v", err)
	}
	return tk
}

// TestSmokeAlarmOverRS485 is the product's main path: the daemon polls a
// real pymodbus RTU slave over a serial line (a socat pty pair standing in
// for the RS-485 adapter) and a real mosquitto receives the tickets.
func TestSmokeAlarmOverRS485(t *testing.T) {
	slave := modbustest.StartRTU(t, map[uint8]map[uint16]uint16{1: {16: 0}})
	broker := mqtttest.StartMosquitto(t)
	validator := mqtttest.NewValidator(t)
	tickets := mqtttest.Subscribe(t, broker.URL(), "fenghuo/v1/330502103/gw-330502103-test-01/tickets")
	cfg := fmt.Sprintf(testConfig, "unused", broker.URL(), filepath.Join(t.TempDir(), "outbox.db"))
	cfg = replaceOnce(cfg, "    type: tcp\n    address: unused\n", fmt.Sprintf("    type: rtu\n    port: %s\n    baud: 9600\n", slave.Port))
	startDaemon(t, cfg, nil)

	slave.SetHolding(1, 16, 1)
	open := decode(t, validator, tickets.WaitFor(1, 15*time.Second)[0].Payload)
	slave.SetHolding(1, 16, 0)
	clr := decode(t, validator, tickets.WaitFor(2, 15*time.Second)[1].Payload)
	if open.State != "open" || open.Hazard != "smoke_fire_alarm" || clr.State != "clear" || clr.TicketID != open.TicketID {
		t.Fatalf("over RTU: %s %s then %s %s, want open and clear of one smoke_fire_alarm", open.State, open.Hazard, clr.State, clr.TicketID)
	}
	if open.Device.Bus != "lan" || open.Device.Slave != 1 {
		t.Fatalf("device block %+v", open.Device)
	}
}
