package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
)

// localInTemp keeps tests off the system socket and port 9108: a config
// that leaves local.* at their defaults gets a socket in a temporary
// directory and no metrics listener.
func localInTemp(t testing.TB, cfg *config.Config) {
	t.Helper()
	if cfg.Local.Socket == config.DefaultSocket {
		cfg.Local.Socket = filepath.Join(t.TempDir(), "fenghuo.sock")
	}
	if cfg.Local.Metrics == config.DefaultMetrics {
		cfg.Local.Metrics = ""
	}
}

// apiSite is a daemon with one simulated smoke detector and no broker
// (tickets stay in the outbox), serving the local API and metrics.
type apiSite struct {
	d      *Daemon
	dev    *sim.Device
	socket string
	done   chan error
	cancel context.CancelFunc
}

func startAPISite(t *testing.T) *apiSite {
	t.Helper()
	profiles, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := profiles.Get("smoke-detector")
	srv := sim.NewServer()
	dev := srv.AddDevice(1, p)
	addr, err := srv.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	d := newSmokeDaemon(t, addr, true) // groups_test.go
	ctx, cancel := context.WithCancel(context.Background())
	s := &apiSite{d: d, dev: dev, socket: d.cfg.Local.Socket, done: make(chan error, 1), cancel: cancel}
	go func() { s.done <- d.Run(ctx) }()
	t.Cleanup(func() { s.stop(t) })
	waitFor(t, 10*time.Second, "the local socket", func() bool { _, err := os.Stat(s.socket); return err == nil })
	return s
}

func (s *apiSite) stop(t *testing.T) {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("daemon Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("daemon did not stop")
	}
}

// TestLocalAPI reads every endpoint of a running daemon through its socket
// while a fire alarm is raised with no broker to take it.
func TestLocalAPI(t *testing.T) {
	s := startAPISite(t)
	c := api.NewClient(s.socket)
	ctx := t.Context()
	waitFor(t, 10*time.Second, "a first successful poll", func() bool {
		d, err := c.Devices(ctx)
		return err == nil && len(d.Devices) == 1 && d.Devices[0].PollsOK > 0
	})
	if err := s.dev.SetBit("status", 1, true); err != nil {
		t.Fatal(err)
	}
	var alarms api.Alarms
	waitFor(t, 10*time.Second, "the open alarm", func() bool {
		var err error
		alarms, err = c.Alarms(ctx)
		return err == nil && len(alarms.Alarms) == 1
	})
	a := alarms.Alarms[0]
	if a.Device != "smoke-1f-kitchen" || a.DeviceName != "一楼厨房烟感" || a.Hazard != "smoke_fire_alarm" || a.LabelZh != "烟感火警" || a.Level != 1 || a.TicketID == "" || a.Since.IsZero() {
		t.Errorf("alarm %+v", a)
	}
	var q api.Queue
	waitFor(t, 10*time.Second, "the open event in the queue", func() bool {
		var err error
		q, err = c.Queue(ctx, 0)
		return err == nil && q.Depth >= 1
	})
	if it := q.Items[0]; it.Seq != 1 || it.State != "open" || it.Hazard != "smoke_fire_alarm" || it.Device != "smoke-1f-kitchen" || it.TicketID != a.TicketID {
		t.Errorf("queue head %+v; alarm %+v", it, a)
	}

	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.GatewayID != "gw-330502103-test-01" || st.Version != "test" || st.Uplink.Connected || st.Buffer.Depth < 1 || st.Devices.Total != 1 || st.Devices.Online != 1 {
		t.Errorf("status %+v", st)
	}
	if st.Uplink.Broker != "tcp://127.0.0.1:1" {
		t.Errorf("status broker %q", st.Uplink.Broker)
	}
	devs, err := c.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dv := devs.Devices[0]
	if !dv.Online || dv.SuccessRate == nil || *dv.SuccessRate != 1 || dv.LastLatencyMS <= 0 || dv.Profile != "smoke-detector" || dv.Slave != 1 || dv.Bus != "lan" {
		t.Errorf("device %+v", dv)
	}
	if dv.Requests < dv.PollsOK || dv.Timeouts != 0 || dv.FrameErrors != 0 || dv.MeanLatencyMS <= 0 {
		t.Errorf("read counters of a healthy device: requests %d (polls ok %d), timeouts %d, frame errors %d, mean latency %.3f ms",
			dv.Requests, dv.PollsOK, dv.Timeouts, dv.FrameErrors, dv.MeanLatencyMS)
	}
	if !hasValue(dv.Values, "temperature", "°C") {
		t.Errorf("device values %+v lack temperature in °C", dv.Values)
	}
	waitFor(t, 10*time.Second, "the device's achieved interval", func() bool {
		devs, err := c.Devices(ctx)
		if err == nil {
			dv = devs.Devices[0]
		}
		return err == nil && dv.AchievedIntervalS != nil
	})
	if dv.IntervalS <= 0 || *dv.AchievedIntervalS <= 0 || dv.BusUtilisation == nil || *dv.BusUtilisation <= 0 || *dv.BusUtilisation > 1 {
		t.Errorf("measured: interval %v s, achieved %v s, bus utilisation %v", dv.IntervalS, *dv.AchievedIntervalS, dv.BusUtilisation)
	}
	rs, err := c.Rules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	firing := 0
	for _, r := range rs.Rules {
		if r.Phase == "firing" {
			firing++
		}
	}
	if len(rs.Rules) == 0 || firing != 1 {
		t.Errorf("rules: %d, %d firing; want one firing", len(rs.Rules), firing)
	}

	// The counter is raised just after the commit that made the event
	// visible in the queue: wait for it rather than race it.
	var body string
	waitFor(t, 10*time.Second, "the committed event counted in /metrics", func() bool {
		body = scrape(t, s.d)
		return strings.Contains(body, `fenghuo_events_committed_total{state="open"} 1`)
	})
	for _, want := range []string{
		`fenghuo_polls_total{bus="lan",device="smoke-1f-kitchen",result="ok"}`,
		`fenghuo_poll_duration_seconds_bucket{bus="lan",device="smoke-1f-kitchen",le="0.005"}`,
		`fenghuo_device_online{bus="lan",device="smoke-1f-kitchen"} 1`,
		`fenghuo_events_committed_total{state="open"} 1`,
		`fenghuo_open_hazards{level="1"} 1`,
		`fenghuo_rules{phase="firing"} 1`,
		`fenghuo_outbox_depth{uplink="mqtt"} 1`,
		`fenghuo_outbox_oldest_unsent_age_seconds{uplink="mqtt"} `,
		`fenghuo_outbox_sent_total{uplink="mqtt"} 0`,
		`fenghuo_uplink_connected{uplink="mqtt"} 0`,
		`fenghuo_uplink_transmission_fault{uplink="mqtt"} 0`,
		`fenghuo_build_info{gateway="gw-330502103-test-01",version="test"} 1`,
		"process_resident_memory_bytes ",
		`fenghuo_bus_utilisation_ratio{bus="lan"} `,
		`fenghuo_bus_busy_seconds_total{bus="lan"} `,
		`fenghuo_device_poll_interval_seconds{bus="lan",device="smoke-1f-kitchen"} `,
		`fenghuo_device_poll_interval_planned_seconds{bus="lan",device="smoke-1f-kitchen"} 0.2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	s.stop(t)
	if _, err := os.Lstat(s.socket); err == nil {
		t.Error("the socket file is still there after the daemon stopped")
	}
}

func hasValue(vs []api.Value, point, unit string) bool {
	for _, v := range vs {
		if v.Point == point && v.Unit == unit {
			return true
		}
	}
	return false
}

func scrape(t *testing.T, d *Daemon) string {
	t.Helper()
	var addr string
	waitFor(t, 5*time.Second, "the metrics listener", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		addr = d.metricsAddr
		return addr != ""
	})
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("scrape: %s %v", resp.Status, err)
	}
	return string(b)
}

// A second daemon on the same socket refuses to start (it would be a
// second master on the buses), and the first keeps answering.
func TestSecondDaemonRefused(t *testing.T) {
	s := startAPISite(t)
	cfg := *s.d.cfg
	cfg.Local.Metrics = ""
	cfg.Buffer.Path = filepath.Join(t.TempDir(), "outbox.db")
	profiles, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(Options{Config: &cfg, Profiles: profiles})
	if err == nil || !strings.Contains(err.Error(), "another fenghuo daemon answers on it") {
		t.Fatalf("second daemon New: %v, want a refusal", err)
	}
	if _, err := os.Stat(cfg.Buffer.Path); err == nil {
		t.Error("the refused daemon opened its outbox")
	}
	// The check in Run holds too (a daemon that started in between).
	d2 := &Daemon{opts: s.d.opts, cfg: &cfg, log: s.d.log}
	if _, err := d2.startAPI(); err == nil || !strings.Contains(err.Error(), "not starting a second one") {
		t.Fatalf("second daemon startAPI: %v, want a refusal", err)
	}
	if _, err := api.NewClient(s.socket).Status(t.Context()); err != nil {
		t.Errorf("the first daemon stopped answering: %v", err)
	}
}

// A metrics port somebody else holds does not stop the gateway: it runs
// and serves the local API without /metrics.
func TestMetricsPortTakenIsNotFatal(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg, err := config.Parse([]byte(fmt.Sprintf(testConfig, "127.0.0.1:1", "tcp://127.0.0.1:1", filepath.Join(t.TempDir(), "outbox.db")) +
		fmt.Sprintf("local:\n  socket: %s\n  metrics: %s\n", filepath.Join(t.TempDir(), "f.sock"), busy.Addr())))
	if err != nil {
		t.Fatal(err)
	}
	profiles, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncLog
	d, err := New(Options{Config: cfg, Profiles: profiles, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitFor(t, 10*time.Second, "the local API", func() bool {
		_, err := api.NewClient(cfg.Local.Socket).Status(t.Context())
		return err == nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !strings.Contains(logs.String(), "metrics not available") {
		t.Errorf("the log does not say metrics are unavailable:\n%s", logs.String())
	}
}

type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncLog) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
