package daemon

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
)

// reloadConfig is a site with two Modbus TCP lines, each with one
// simulated smoke detector, and a threshold rule on the kitchen's
// temperature. Fill in: lan's address, lan2's address, lan2's timeout,
// the threshold, the broker, more uplink keys, the outbox, the socket.
const reloadConfig = `
gateway:
  id: gw-330502103-test-01
  site: {name: 云村文化礼堂, township: 织里镇, township_code: "330502103", community: 云村, address: 湖州市吴兴区织里镇云村}
buses:
  - {name: lan, type: tcp, address: %s, timeout: 500ms, retries: 0}
  - {name: lan2, type: tcp, address: %s, timeout: %s, retries: 0}
devices:
  - {id: smoke-1f-kitchen, name: 一楼厨房烟感, bus: lan, slave: 1, profile: smoke-detector, location: 一楼厨房, poll: 200ms}
  - {id: smoke-2f-hall, name: 二楼大厅烟感, bus: lan2, slave: 1, profile: smoke-detector, location: 二楼大厅, poll: 200ms}
rules:
  - id: kitchen-heat
    devices: [smoke-1f-kitchen]
    hazard: cable_temp_prealarm
    type: threshold
    points: [temperature]
    threshold: %s
    hysteresis: 1
    for: 400ms
    clear_for: 400ms
    level: 3
uplink:
  mqtt: {broker: %s}
  heartbeat: 30s
  telemetry: {enabled: false}
%sbuffer: {path: %s}
local: {socket: %s, metrics: ""}
`

// countingListener counts the connections a simulator accepts: a bus
// kept by a reload is not even reconnected.
type countingListener struct {
	net.Listener
	n atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// simLine is one simulated Modbus TCP line with a smoke detector.
type simLine struct {
	dev *sim.Device
	ln  *countingListener
}

func startSimLine(t *testing.T) *simLine {
	t.Helper()
	profiles, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := profiles.Get("smoke-detector")
	srv := sim.NewServer()
	dev := srv.AddDevice(1, p)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: l}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(cl) }()
	t.Cleanup(func() { _ = srv.Close(); _ = l.Close(); <-done })
	return &simLine{dev: dev, ln: cl}
}

// reloadSite is a running daemon on reloadConfig, its config file and
// its two lines.
type reloadSite struct {
	d         *Daemon
	path      string
	lan, lan2 *simLine
	hup       chan os.Signal
	log       *committedLog
	text      func(lan2Timeout, threshold string) string
}

func startReloadSite(t *testing.T, broker string) *reloadSite {
	t.Helper()
	return startReloadSiteWith(t, broker, "", Options{})
}

// startReloadSiteWith adds uplink keys (indented lines) and options.
func startReloadSiteWith(t *testing.T, broker, uplinkKeys string, opts Options) *reloadSite {
	t.Helper()
	dir := t.TempDir()
	s := &reloadSite{path: filepath.Join(dir, "fenghuo.yaml"), lan: startSimLine(t), lan2: startSimLine(t),
		hup: make(chan os.Signal, 1), log: &committedLog{}}
	s.text = func(lan2Timeout, threshold string) string {
		return fmt.Sprintf(reloadConfig, s.lan.ln.Addr(), s.lan2.ln.Addr(), lan2Timeout, threshold, broker, uplinkKeys,
			filepath.Join(dir, "outbox.db"), filepath.Join(dir, "fenghuo.sock"))
	}
	s.write(t, s.text("500ms", "60"))
	cfg, err := config.Load(s.path)
	if err != nil {
		t.Fatal(err)
	}
	opts.Config, opts.Profiles, opts.Version, opts.ConfigPath = cfg, cfg.Profiles(), "test", s.path
	opts.ReloadSignals, opts.OnCommitted = s.hup, s.log.add
	d, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.d = d
	runUntilStopped(t, d)
	s.waitPolls(t, 3)
	return s
}

func (s *reloadSite) write(t *testing.T, text string) {
	t.Helper()
	if err := os.WriteFile(s.path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitPolls waits for n more good polls of every device.
func (s *reloadSite) waitPolls(t *testing.T, n uint64) {
	t.Helper()
	ok := func() []uint64 {
		var out []uint64
		for _, v := range s.d.loop.Devices().Snapshot() {
			out = append(out, v.OK)
		}
		return out
	}
	before := ok()
	waitFor(t, 15*time.Second, fmt.Sprintf("%d more good polls of every device", n), func() bool {
		now := ok()
		for i := range before {
			if i >= len(now) || now[i] < before[i]+n {
				return false
			}
		}
		return true
	})
}

// sighup sends a SIGHUP the way fenghuo run forwards it and waits for the
// reload it starts.
func (s *reloadSite) sighup(t *testing.T) api.Reload {
	t.Helper()
	prev := s.d.lastReload()
	s.hup <- syscall.SIGHUP
	var r *api.Reload
	waitFor(t, 30*time.Second, "the reload", func() bool {
		r = s.d.lastReload()
		return r != nil && (prev == nil || r.At.After(prev.At))
	})
	return *r
}

// TestReloadRefusesBadConfig: a SIGHUP with a broken config file, then
// with a change that needs a restart, is refused whole: the old config
// keeps polling on the same connections, and diag status shows why.
func TestReloadRefusesBadConfig(t *testing.T) {
	s := startReloadSite(t, "tcp://127.0.0.1:1")
	hash := s.d.loop.ConfigHash()
	loaded := s.d.loop.ConfigLoadedAt()

	bad := replaceOnce(s.text("500ms", "65"), "slave: 1, profile: smoke-detector, location: 二楼大厅", "slave: 0, profile: smoke-detector, location: 二楼大厅")
	bad = replaceOnce(bad, "  heartbeat: 30s\n", "  heartbeat: 30s\n  heartbeet: 30s\n")
	s.write(t, bad)
	r := s.sighup(t)
	if r.OK || r.Source != ReloadSIGHUP || len(r.Problems) != 2 ||
		!strings.HasPrefix(r.Problems[0], "devices[1].slave:") || !strings.HasPrefix(r.Problems[1], "uplink.heartbeet:") {
		t.Fatalf("bad config: ok %v source %s problems %q, want refused with devices[1].slave and uplink.heartbeet", r.OK, r.Source, r.Problems)
	}

	restart := replaceOnce(s.text("500ms", "60"), "outbox.db", "elsewhere.db")
	s.write(t, restart)
	r = s.sighup(t)
	if r.OK || len(r.Problems) != 1 || !strings.HasPrefix(r.Problems[0], "buffer: changed") || !strings.Contains(r.Problems[0], "restart") {
		t.Fatalf("outbox moved: ok %v problems %q, want refused naming buffer and a restart", r.OK, r.Problems)
	}

	s.waitPolls(t, 3)
	if s.d.loop.ConfigHash() != hash || !s.d.loop.ConfigLoadedAt().Equal(loaded) || r.ConfigHash != hash {
		t.Errorf("config hash %s loaded %v after refused reloads, want %s %v", s.d.loop.ConfigHash(), s.d.loop.ConfigLoadedAt(), hash, loaded)
	}
	if a, b := s.lan.ln.n.Load(), s.lan2.ln.n.Load(); a != 1 || b != 1 {
		t.Errorf("connections accepted: lan %d lan2 %d, want 1 each (refused reloads touch no bus)", a, b)
	}
	st, err := api.NewClient(s.d.cfg.Local.Socket).Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	lr := st.Config.LastReload
	if st.Config.Hash != hash || lr == nil || lr.OK || !slices.Equal(lr.Problems, r.Problems) {
		t.Errorf("diag status config %+v, want hash %s and the refused reload", st.Config, hash)
	}
}

// TestReloadChangesThresholdKeepsTicket: an alarm is open; a reload
// raises its threshold (still below the value) and changes the other
// line's timeout. The ticket stays open with no second open sent, the
// kitchen's line keeps its one connection while the other reconnects,
// and when the value falls the clear closes the same ticket. The status
// heartbeat carries the new hash and load time.
func TestReloadChangesThresholdKeepsTicket(t *testing.T) {
	broker := mqtttest.StartMosquitto(t)
	v := mqtttest.NewValidator(t)
	tickets := mqtttest.Subscribe(t, broker.URL(), "fenghuo/v1/330502103/gw-330502103-test-01/tickets")
	s := startReloadSite(t, broker.URL())
	before := s.d.status()

	if err := s.lan.dev.Set("temperature", 70); err != nil {
		t.Fatal(err)
	}
	open := decode(t, v, tickets.WaitFor(1, 15*time.Second)[0].Payload)
	if open.State != "open" || open.Rule != "kitchen-heat" {
		t.Fatalf("first ticket %s %s, want the open of kitchen-heat", open.State, open.Rule)
	}

	s.write(t, s.text("700ms", "65"))
	r := s.d.Reload(t.Context(), ReloadLocal)
	if !r.OK || r.Unchanged || r.TicketsKept != 1 || r.TicketsClosed != 0 || !slices.Equal(r.BusesKept, []string{"lan"}) ||
		!slices.Equal(r.BusesStopped, []string{"lan2"}) || !slices.Equal(r.BusesStarted, []string{"lan2"}) {
		t.Fatalf("reload %+v, want ok: lan kept, lan2 restarted, one ticket kept", r)
	}
	if threshold := kitchenThreshold(t, s); threshold != 65 {
		t.Errorf("threshold after the reload: %v, want 65", threshold)
	}
	s.waitPolls(t, 5)
	if got := strings.Join(states(s.log.all()), ", "); got != "open kitchen-heat" {
		t.Fatalf("after the reload the outbox got %s, want only the first open", got)
	}
	if a, b := s.lan.ln.n.Load(), s.lan2.ln.n.Load(); a != 1 || b != 2 {
		t.Errorf("connections accepted: lan %d lan2 %d, want 1 (kept) and 2 (restarted)", a, b)
	}
	after := s.d.status()
	if after.ConfigHash == before.ConfigHash || after.ConfigHash != s.d.loop.ConfigHash() || after.ConfigLoadedAt <= before.ConfigLoadedAt {
		t.Errorf("status config_hash %s loaded %s, before %s %s", after.ConfigHash, after.ConfigLoadedAt, before.ConfigHash, before.ConfigLoadedAt)
	}

	if err := s.lan.dev.Set("temperature", 20); err != nil {
		t.Fatal(err)
	}
	msgs := tickets.WaitFor(2, 15*time.Second)
	clr := decode(t, v, msgs[1].Payload)
	if clr.State != "clear" || clr.TicketID != open.TicketID || len(msgs) != 2 {
		t.Fatalf("after the value fell: %d tickets, second %s %s, want the clear of %s", len(msgs), clr.State, clr.TicketID, open.TicketID)
	}
}

// kitchenThreshold is kitchen-heat's threshold at its last observation.
func kitchenThreshold(t *testing.T, s *reloadSite) float64 {
	t.Helper()
	var th *float64
	waitFor(t, 10*time.Second, "kitchen-heat observed under the new rules", func() bool {
		for _, rs := range s.d.loop.Rules().Explain(time.Now()) {
			if rs.Rule == "kitchen-heat" && rs.Threshold != nil && *rs.Threshold != 60 {
				th = rs.Threshold
			}
		}
		return th != nil
	})
	return *th
}

// TestReloadRemovedRuleClosesTicket: an open ticket whose rule a reload
// removes is closed by a clear (nothing would clear it otherwise), a
// removed device's metrics go, and a reload of the same file is a no-op.
func TestReloadRemovedRuleClosesTicket(t *testing.T) {
	s := startReloadSite(t, "tcp://127.0.0.1:1")
	if err := s.lan.dev.Set("temperature", 70); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the open", func() bool { return len(s.log.all()) == 1 })
	if !hasSeries(t, s.d, "smoke-2f-hall") {
		t.Fatal("no metrics of smoke-2f-hall before the reload")
	}
	text := s.text("500ms", "60")
	i := strings.Index(text, "rules:\n")
	j := strings.Index(text, "uplink:\n")
	text = text[:i] + text[j:]
	i = strings.Index(text, "  - {id: smoke-2f-hall")
	j = i + strings.Index(text[i:], "\n") + 1
	s.write(t, text[:i]+text[j:])
	r := s.d.Reload(context.Background(), ReloadLocal)
	if !r.OK || r.TicketsKept != 0 || r.TicketsClosed != 1 || !slices.Equal(r.BusesKept, []string{"lan"}) {
		t.Fatalf("reload %+v, want ok with one ticket closed and lan kept", r)
	}
	if hasSeries(t, s.d, "smoke-2f-hall") {
		t.Error("the removed device still has metrics")
	}
	recs := s.log.all()
	if len(recs) != 2 || recs[0].State != "open" || recs[1].State != "clear" || recs[1].TicketID != recs[0].TicketID {
		t.Fatalf("outbox got %s, want the open and its clear", states(recs))
	}
	tk := decodeNoSchema(t, recs[1].Payload)
	if tk.Evidence.Window != "rule removed by a config reload" {
		t.Errorf("clear evidence window %q", tk.Evidence.Window)
	}
	if r := s.d.Reload(context.Background(), ReloadLocal); !r.OK || !r.Unchanged {
		t.Errorf("second reload of the same file: %+v, want ok and unchanged", r)
	}
}

// hasSeries reports whether /metrics has a series of device.
func hasSeries(t *testing.T, d *Daemon, device string) bool {
	t.Helper()
	mfs, err := d.metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "device" && l.GetValue() == device {
					return true
				}
			}
		}
	}
	return false
}
