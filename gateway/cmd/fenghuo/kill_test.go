package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875/centre"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

const (
	killGW      = "gw-330502103-kill-01"
	killDevices = 6
)

// killCentre is a reference centre that can be taken down and brought
// back on the same address, keeping what it confirmed across outages.
type killCentre struct {
	t    *testing.T
	addr string

	mu     sync.Mutex
	keys   map[string]int // confirmed component states: description|class|time label → count
	cancel context.CancelFunc
	done   chan error
}

func (c *killCentre) start() {
	c.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may linger for a moment after the outage
		if ln, err = net.Listen("tcp", c.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		c.t.Fatalf("centre: %v", err)
	}
	c.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan error, 1)
	srv := centre.New(centre.Options{Out: discard{}, OnFrame: c.onFrame})
	go func() { c.done <- srv.Serve(ctx, ln) }()
}

func (c *killCentre) stop() {
	if c.cancel == nil {
		return
	}
	c.cancel()
	if err := <-c.done; err != nil && !errors.Is(err, context.Canceled) {
		c.t.Errorf("centre: %v", err)
	}
	c.cancel = nil
}

func (c *killCentre) onFrame(f gb26875.Frame, a centre.Action) {
	app, err := gb26875.DecodeAppData(f.Data)
	if err != nil || a != centre.Confirm || app.Type != gb26875.TypeComponentState {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, o := range app.Objects {
		if s, ok := o.(gb26875.ComponentState); ok {
			c.keys[stateKey(s.Description, s.Status == gb26875.StatusNormal, s.Time)]++
		}
	}
}

// stateKey identifies a component state at the centre: the device, alarm
// or back to normal, the event's time label (to the second).
func stateKey(desc string, normal bool, at gb26875.TimeLabel) string {
	return fmt.Sprintf("%s|%v|%s", desc, normal, at)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestKillLoopBothUplinks: the real binary (`fenghuo run`, this test
// binary re-executed as fenghuo) with both uplinks, SIGKILLed at random
// moments during bursts of alarms from a simulated site, with the centre
// down for the middle part of the loop. At the end every committed event
// reached the township (seq gap-free) and every device event the centre
// (confirmed), duplicates allowed (at-least-once). FENGHUO_KILLS sets the
// kills (default 20, the kill loop: about 20 s).
func TestKillLoopBothUplinks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	kills := 20
	if s := os.Getenv("FENGHUO_KILLS"); s != "" {
		kills, _ = strconv.Atoi(s)
	}
	devs, simAddr := killSite(t)
	broker := mqtttest.StartMosquitto(t)
	tickets := mqtttest.Subscribe(t, broker.URL(), "fenghuo/v1/330502103/"+killGW+"/tickets")
	c := &killCentre{t: t, addr: "127.0.0.1:0", keys: map[string]int{}}
	c.start()
	t.Cleanup(c.stop)
	dir := t.TempDir()
	socket := filepath.Join(dir, "fenghuo.sock")
	cfg := killConfig(t, dir, simAddr, broker.URL(), c.addr, socket)

	outageFrom, outageTo := kills/3, kills/3+max(1, kills/3)
	alarm := false
	for k := range kills {
		switch k {
		case outageFrom:
			c.stop()
		case outageTo:
			c.start()
		}
		cmd := startGateway(t, cfg)
		flips := 1 + rand.IntN(4)
		burst := make(chan struct{})
		go func(v bool) { defer close(burst); flipAll(t, devs, v, flips) }(alarm)
		alarm = alarm != (flips%2 == 1)
		time.Sleep(time.Duration(200+rand.IntN(1300)) * time.Millisecond) // a random moment, not a wait for a condition
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		<-burst
	}
	if c.cancel == nil {
		c.start()
	}
	lastSeq := finalRun(t, cfg, socket, devs)
	checkDelivered(t, tickets, c, lastSeq, kills)
}

// killSite serves killDevices simulated smoke detectors on one TCP bus.
func killSite(t *testing.T) ([]*sim.Device, string) {
	profiles, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := profiles.Get("smoke-detector")
	srv := sim.NewServer()
	var devs []*sim.Device
	for i := range killDevices {
		devs = append(devs, srv.AddDevice(uint8(i+1), p))
	}
	addr, err := srv.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return devs, addr
}

func killConfig(t *testing.T, dir, simAddr, broker, centreAddr, socket string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `gateway:
  id: %s
  site: {name: 压测站点, township: 织里镇, township_code: "330502103", community: 云村, address: 湖州市吴兴区织里镇云村}
buses:
  - {name: sim, type: tcp, address: "%s", timeout: 300ms, retries: 1}
devices:
`, killGW, simAddr)
	for i := range killDevices {
		fmt.Fprintf(&b, "  - {id: smoke-%d, name: 烟感%d, bus: sim, slave: %d, profile: smoke-detector, location: 房间%d, poll: 200ms}\n", i+1, i+1, i+1, i+1)
	}
	fmt.Fprintf(&b, `uplink:
  mqtt: {broker: "%s", keepalive: 5s, connect_spread: 0s}
  heartbeat: 5s
  telemetry: {enabled: false}
  gb26875: {centre: "%s", address: 330502103001, confirm_timeout: 1s, retries: 3}
buffer: {path: "%s"}
local: {socket: "%s", metrics: ""}
log: {level: error}
`, broker, centreAddr, filepath.Join(dir, "outbox.db"), socket)
	path := filepath.Join(dir, "fenghuo.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startGateway starts this test binary as `fenghuo run --config cfg`.
func startGateway(t *testing.T, cfg string) *exec.Cmd {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), envArgs+"="+strings.Join([]string{"run", "--config", cfg}, "\x1f"))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// flipAll sets every detector's fire-alarm bit to v, then flips it, n
// times in all, a moment apart.
func flipAll(t *testing.T, devs []*sim.Device, v bool, n int) {
	for range n {
		for _, d := range devs {
			if err := d.SetBit("status", 1, v); err != nil {
				t.Error(err)
			}
		}
		v = !v
		time.Sleep(time.Duration(100+rand.IntN(200)) * time.Millisecond) // a burst's pace
	}
}

// finalRun starts the gateway once more, clears every alarm, waits until
// no hazard is open and both uplinks delivered everything, stops it with
// SIGTERM and returns the last seq committed.
func finalRun(t *testing.T, cfg, socket string, devs []*sim.Device) uint64 {
	cmd := startGateway(t, cfg)
	for _, d := range devs {
		if err := d.SetBit("status", 1, false); err != nil {
			t.Fatal(err)
		}
	}
	client := api.NewClient(socket)
	deadline := time.Now().Add(90 * time.Second)
	var last uint64
	for {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatal("the gateway did not drain both uplinks within 90 s of the last run")
		}
		if seq, ok := drained(client); ok {
			last = seq
			break
		}
		time.Sleep(100 * time.Millisecond) // polling the outcome, bounded by the deadline
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("the last run did not stop cleanly: %v", err)
	}
	return last
}

// drained reports whether no hazard is open and both uplinks have
// delivered everything, and the last seq then.
func drained(client *api.Client) (uint64, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	al, err := client.Alarms(ctx)
	if err != nil || len(al.Alarms) != 0 {
		return 0, false
	}
	st, err := client.Status(ctx)
	if err != nil || len(st.Uplinks) != 2 {
		return 0, false
	}
	for _, u := range st.Uplinks {
		if u.Depth != 0 {
			return 0, false
		}
	}
	return st.Buffer.LastSeq, true
}

// checkDelivered: the township has every seq 1..last; the centre confirmed
// a component state for every device event the township has.
func checkDelivered(t *testing.T, tickets *mqtttest.Recorder, c *killCentre, last uint64, kills int) {
	if last == 0 {
		t.Fatal("no event committed")
	}
	var byID map[string]ticket.Ticket
	tickets.WaitUntil(fmt.Sprintf("seqs 1..%d at the township", last), 30*time.Second, func(ms []mqtttest.Message) bool {
		byID = map[string]ticket.Ticket{}
		seqs := map[uint64]bool{}
		for _, m := range ms {
			tk, err := ticket.Parse(m.Payload)
			if err != nil {
				t.Fatalf("township: %v", err)
			}
			byID[tk.EventID] = tk
			seqs[tk.Seq] = true
		}
		for s := uint64(1); s <= last; s++ {
			if !seqs[s] {
				return false
			}
		}
		return true
	})
	loc := time.FixedZone("UTC+8", 8*3600)
	c.mu.Lock()
	defer c.mu.Unlock()
	// Two events of one device in one second with the same state have the
	// same key: the centre must have confirmed each key at least as often
	// as the township has events with it.
	want := map[string]int{}
	device := 0
	for _, tk := range byID {
		if tk.Category == "gateway" {
			continue // the gateway's own tickets are a device state (type 21) at the centre
		}
		device++
		at, err := time.Parse(time.RFC3339Nano, tk.OccurredAt)
		if err != nil {
			t.Fatal(err)
		}
		want[stateKey(tk.Device.Name, tk.State == ticket.StateClear, gb26875.LabelOf(at.In(loc)))]++
	}
	lost := 0
	for k, n := range want {
		if got := c.keys[k]; got < n {
			lost += n - got
			t.Errorf("the centre confirmed %s %d times, the township has %d such events", k, got, n)
		}
	}
	total := 0
	for _, n := range c.keys {
		total += n
	}
	t.Logf("%d SIGKILLs: %d events committed (%d device events); township gap-free; centre %d lost, %d component states confirmed (%d more than events: at-least-once)",
		kills, last, device, lost, total, total-device)
}
