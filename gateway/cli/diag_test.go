package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/diagview"
)

// diagSite runs `fenghuo run` on a simulated site with no broker (tickets
// stay queued) and returns its config file, socket and smoke detector.
func diagSite(t *testing.T) (cfgPath, socket string, smoke *sim.Device) {
	t.Helper()
	return diagSiteWith(t, "tcp://127.0.0.1:1")
}

// diagSiteWith is diagSite with its uplink to broker.
func diagSiteWith(t *testing.T, broker string) (cfgPath, socket string, smoke *sim.Device) {
	t.Helper()
	cleanEnv(t)
	profiles, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	srv := sim.NewServer()
	ps, _ := profiles.Get("smoke-detector")
	pe, _ := profiles.Get("electrical-fire-1p")
	smoke = srv.AddDevice(1, ps)
	srv.AddDevice(7, pe)
	addr, err := srv.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	dir := t.TempDir()
	socket = filepath.Join(dir, "fenghuo.sock")
	cfgPath = writeFile(t, "fenghuo.yaml", fmt.Sprintf(`
gateway:
  id: gw-330502103-diag-01
  site: {name: 云村文化礼堂, township: 织里镇, township_code: "330502103"}
buses:
  - {name: lan, type: tcp, address: "%s", timeout: 300ms}
devices:
  - {id: smoke-1f-kitchen, name: 一楼厨房烟感, bus: lan, slave: 1, profile: smoke-detector, location: 一楼厨房, poll: 200ms}
  - {id: efd-1f-main, name: 一楼总配电箱, bus: lan, slave: 7, profile: electrical-fire-1p, poll: 200ms}
uplink:
  mqtt: {broker: "%s", connect_spread: 0s}
  telemetry: {enabled: false}   # the diag tests count the queue record by record
buffer: {path: "%s"}
local: {socket: "%s", metrics: ""}
`, addr, broker, filepath.Join(dir, "outbox.db"), socket))

	startRun(t, cfgPath, socket) // diag_bus_test.go
	return cfgPath, socket, smoke
}

func waitUntil(t *testing.T, max time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(max)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", max, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// diagJSON runs a diag command with --json and decodes its stdout into v.
func diagJSON(t *testing.T, v any, wantCode int, args ...string) {
	t.Helper()
	code, out, errOut := fenghuo(t, append(args, "--json")...)
	if code != wantCode {
		t.Fatalf("%q: exit %d, want %d; stderr:\n%s", args, code, wantCode, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%q --json: %v\n%s", args, err, out)
	}
}

// TestDiagAgainstRunningDaemon drives every read-only diag command as a
// maintenance worker would, against `fenghuo run` on a simulated site
// whose broker is unreachable, while a fire alarm is raised.
func TestDiagAgainstRunningDaemon(t *testing.T) {
	cfgPath, socket, smoke := diagSite(t)

	// status: the uplink is down, so exit 1, and the table says why.
	code, out, errOut := fenghuo(t, "diag", "status", "--socket", socket)
	if code != 1 || errOut != "" {
		t.Errorf("diag status: exit %d, stderr %q; want 1 (uplink down) and nothing on stderr", code, errOut)
	}
	for _, w := range []string{"gateway       gw-330502103-diag-01", "uplink        NOT CONNECTED tcp://127.0.0.1:1", "devices       2/2 online"} {
		if !strings.Contains(out, w) {
			t.Errorf("diag status lacks %q:\n%s", w, out)
		}
	}
	var st api.Status
	diagJSON(t, &st, 1, "diag", "status", "--config", cfgPath) // the socket from the config
	if st.GatewayID != "gw-330502103-diag-01" || st.Uplink.Connected || st.Devices.Total != 2 {
		t.Errorf("status JSON %+v", st)
	}

	// devices: both answer, exit 0; Chinese names aligned.
	code, out, _ = fenghuo(t, "diag", "devices", "--socket", socket)
	if code != 0 {
		t.Errorf("diag devices: exit %d, want 0:\n%s", code, out)
	}
	rows := lines(out)
	if len(rows) < 3 || !strings.HasPrefix(rows[0], "ID ") {
		t.Fatalf("diag devices:\n%s", out)
	}
	col := func(row, cell string) int { return diagview.DisplayWidth(row[:strings.Index(row, cell)]) }
	if a, b, c := col(rows[0], "STATE"), col(rows[1], "online"), col(rows[2], "online"); a != b || b != c {
		t.Errorf("STATE column at %d, %d, %d:\n%s", a, b, c, out)
	}
	if !strings.Contains(out, "temperature") || !strings.Contains(out, "°C") {
		t.Errorf("diag devices shows no temperature in °C:\n%s", out)
	}
	var devs api.Devices
	diagJSON(t, &devs, 0, "diag", "devices", "--socket", socket)
	if len(devs.Devices) != 2 || devs.Devices[0].Name != "一楼厨房烟感" || devs.Devices[1].Slave != 7 {
		t.Errorf("devices JSON %+v", devs)
	}

	// An alarm: alarms and queue show it (the broker never takes it).
	if err := smoke.SetBit("status", 1, true); err != nil {
		t.Fatal(err)
	}
	var al api.Alarms
	waitUntil(t, 10*time.Second, "diag alarms to show the fire alarm", func() bool {
		diagJSON(t, &al, 0, "diag", "alarms", "--socket", socket)
		return len(al.Alarms) == 1
	})
	if a := al.Alarms[0]; a.Hazard != "smoke_fire_alarm" || a.Level != 1 || !strings.HasPrefix(a.TicketID, "gw-330502103-diag-01/smoke-1f-kitchen/R1/") {
		t.Errorf("alarm %+v", a)
	}
	code, out, _ = fenghuo(t, "diag", "alarms", "--socket", socket)
	if code != 0 || !strings.Contains(out, "1 一级") || !strings.Contains(out, "烟感火警 smoke_fire_alarm") || !strings.Contains(out, "一楼厨房烟感") {
		t.Errorf("diag alarms: exit %d\n%s", code, out)
	}
	var q api.Queue
	waitUntil(t, 10*time.Second, "the open event queued", func() bool {
		diagJSON(t, &q, 0, "diag", "queue", "--socket", socket)
		return q.Depth >= 1
	})
	if it := q.Items[0]; it.Seq != 1 || it.State != "open" || it.TicketID != al.Alarms[0].TicketID {
		t.Errorf("queue head %+v", it)
	}
	code, out, _ = fenghuo(t, "diag", "queue", "--socket", socket, "--limit", "1")
	if code != 0 || !strings.Contains(out, "in sending order") || !strings.Contains(out, "smoke_fire_alarm") {
		t.Errorf("diag queue: exit %d\n%s", code, out)
	}

	var rs api.Rules
	diagJSON(t, &rs, 0, "diag", "rules", "--socket", socket)
	firing := 0
	for _, r := range rs.Rules {
		if r.Phase == "firing" {
			firing++
		}
	}
	if len(rs.Rules) < 2 || firing != 1 {
		t.Errorf("rules: %d rules, %d firing; want one firing", len(rs.Rules), firing)
	}
	code, out, _ = fenghuo(t, "diag", "rules", "--socket", socket)
	if code != 0 || !strings.HasPrefix(out, "DEVICE ") || !strings.Contains(out, "firing") {
		t.Errorf("diag rules: exit %d\n%s", code, out)
	}
}

func TestDiagNoDaemon(t *testing.T) {
	cleanEnv(t)
	sock := filepath.Join(t.TempDir(), "fenghuo.sock")
	for _, sub := range []string{"status", "devices", "alarms", "queue", "rules"} {
		code, out, errOut := fenghuo(t, "diag", sub, "--socket", sock)
		want := "fenghuo: no fenghuo daemon on " + sock + ": is it running? (systemctl status fenghuo)\n"
		if code != 1 || out != "" || errOut != want {
			t.Errorf("diag %s: exit %d, stdout %q, stderr %q; want exit 1 and %q", sub, code, out, errOut, want)
		}
	}
}

func TestDiagSocketFromConfig(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	base := goodConfig("127.0.0.1:1502") + "buffer: {path: " + dir + "/outbox.db}\n"
	sock := filepath.Join(dir, "x.sock")
	code, _, errOut := fenghuo(t, "diag", "status", "--config", writeFile(t, "a.yaml", base+"local: {socket: "+sock+"}\n"))
	if code != 1 || !strings.Contains(errOut, "no fenghuo daemon on "+sock+":") {
		t.Errorf("socket from config: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = fenghuo(t, "diag", "status", "--config", writeFile(t, "b.yaml", base+"local: {socket: \"\"}\n"))
	if code != 1 || !strings.Contains(errOut, "local.socket is empty") {
		t.Errorf("API off in config: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = fenghuo(t, "diag", "status", "--config", filepath.Join(dir, "none.yaml"))
	if code != 1 || !strings.Contains(errOut, "cannot read config") {
		t.Errorf("missing config: exit %d, stderr %q", code, errOut)
	}
	// --socket wins over --config.
	code, _, errOut = fenghuo(t, "diag", "status", "--config", filepath.Join(dir, "none.yaml"), "--socket", sock)
	if code != 1 || !strings.Contains(errOut, "no fenghuo daemon on "+sock) {
		t.Errorf("--socket over --config: exit %d, stderr %q", code, errOut)
	}
}

func TestDiagUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"diag"}, "diag: a command is required (alarms, control, devices, history, queue, read, reload, rules, scan, status, test-alarm, trace, uplink)"},
		{[]string{"diag", "stauts"}, `(did you mean "status"?)`},
		{[]string{"diag", "status", "extra"}, `unknown command "extra" for "fenghuo diag status"`},
		{[]string{"diag", "queue", "--limit", "x"}, "invalid argument"},
	} {
		code, out, errOut := fenghuo(t, tc.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

// The socket the daemon creates is 0660, and it is gone after the daemon
// stops.
func TestDiagSocketPermissions(t *testing.T) {
	_, socket, _ := diagSite(t)
	fi, err := os.Stat(socket)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket mode %v, want srw-rw----", fi.Mode())
	}
}
