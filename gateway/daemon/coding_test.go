package daemon

import (
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// codingRules shortens R3's debounce so the test runs in seconds.
const codingRules = `rules:
  - id: R3
    hazard: detector_fault
    type: status
    when: [{point: status, bits: [2]}]
    for: 400ms
    clear_for: 400ms
    level: 3
    devices: [smoke-1f-kitchen]
`

// committedLog collects the records the daemon commits.
type committedLog struct {
	mu   sync.Mutex
	recs []outbox.Record
}

// add keeps ticket records (telemetry is not this test's).
func (c *committedLog) add(r outbox.Record) {
	if !r.IsTicket() {
		return
	}
	c.mu.Lock()
	c.recs = append(c.recs, r)
	c.mu.Unlock()
}
func (c *committedLog) all() []outbox.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.recs)
}

// TestCodingEndToEnd plays a simulated smoke detector through a running
// daemon to a real mosquitto, and validates every published ticket against
// docs/ticket.schema.json:
//   - a self-test press (fault_detail bit7 with the fire bit) is a test
//     event, coded 1 / 测试信息, and nothing opens;
//   - R3 clearing while R1 is open says gbt45839_status 2;
//   - the disabled bit opens R27 with gbt45839_status 4 / 屏蔽信息;
//   - R1 goes first in the outbox (priority 0), R3 and the test do not.
func TestCodingEndToEnd(t *testing.T) {
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
	broker := mqtttest.StartMosquitto(t)
	v := mqtttest.NewValidator(t)
	tickets := mqtttest.Subscribe(t, broker.URL(), "fenghuo/v1/330502103/gw-330502103-test-01/tickets")
	cfg := fmt.Sprintf(testConfig, addr, broker.URL(), filepath.Join(t.TempDir(), "outbox.db"))
	cfg = replaceOnce(cfg, "profile: smoke-485-basic", "profile: smoke-detector") + codingRules
	var log committedLog
	d, _ := runDaemon(t, cfg, Options{OnCommitted: log.add})

	polls := func() uint64 {
		devs, _ := d.views.Devices(t.Context())
		return devs.Devices[0].PollsOK
	}
	waitFor(t, 10*time.Second, "three polls", func() bool { return polls() >= 3 })

	// 1. the self-test press: test, never open
	done := make(chan struct{})
	if err := dev.PressSelfTest(1500*time.Millisecond, done); err != nil {
		t.Fatal(err)
	}
	<-done
	after := polls()
	waitFor(t, 10*time.Second, "five polls after the press", func() bool { return polls() >= after+5 })
	recs := log.all()
	if len(recs) != 1 || recs[0].State != "test" || recs[0].Rule != "R1" || recs[0].Priority != outbox.PriorityTicket {
		t.Fatalf("after the self-test press the outbox got %s, want one test of R1 at ticket priority", states(recs))
	}
	test := decode(t, v, tickets.WaitFor(1, 15*time.Second)[0].Payload)
	if test.State != "test" || test.GBT45839Status != 1 || test.NoticeTypeZh != "测试信息" {
		t.Fatalf("self-test ticket: %s %d %s, want test 1 测试信息", test.State, test.GBT45839Status, test.NoticeTypeZh)
	}

	// 2. R3 opens, R1 opens, R3 clears while R1 is open, R1 clears
	set := func(bit int, on bool) {
		t.Helper()
		if err := dev.SetBit("status", bit, on); err != nil {
			t.Fatal(err)
		}
	}
	waitRule := func(n int, what string) []ticket.Ticket {
		t.Helper()
		msgs := tickets.WaitFor(n, 15*time.Second)
		var out []ticket.Ticket
		for _, m := range msgs {
			out = append(out, decode(t, v, m.Payload))
		}
		if len(out) < n {
			t.Fatalf("waiting for %s: %d tickets", what, len(out))
		}
		return out
	}
	set(2, true)
	got := waitRule(2, "R3 open")
	set(1, true)
	got = waitRule(3, "R1 open")
	set(2, false)
	got = waitRule(4, "R3 clear")
	set(1, false)
	got = waitRule(5, "R1 clear")
	want := []string{"test R1 1 测试信息", "open R3 3 故障信息", "open R1 2 火灾报警信息", "clear R3 2 故障恢复信息", "clear R1 1 火警解除信息"}
	for i, w := range want {
		if g := fmt.Sprintf("%s %s %d %s", got[i].State, got[i].Rule, got[i].GBT45839Status, got[i].NoticeTypeZh); g != w {
			t.Errorf("ticket %d: %s, want %s", i, g, w)
		}
	}

	// 3. the disabled bit: 屏蔽
	set(3, true)
	got = waitRule(6, "R27 open")
	set(3, false)
	got = waitRule(7, "R27 clear")
	for i, w := range []string{"open R27 4 屏蔽信息", "clear R27 1 屏蔽解除信息"} {
		g := got[5+i]
		if s := fmt.Sprintf("%s %s %d %s", g.State, g.Rule, g.GBT45839Status, g.NoticeTypeZh); s != w {
			t.Errorf("ticket %d: %s, want %s", 5+i, s, w)
		}
	}
	for _, r := range log.all() {
		wantPrio := outbox.PriorityTicket
		if r.Rule == "R1" && r.State != "test" {
			wantPrio = outbox.PriorityLevel1
		}
		if r.Priority != wantPrio {
			t.Errorf("%s %s: priority %d, want %d", r.State, r.Rule, r.Priority, wantPrio)
		}
	}
}

func states(recs []outbox.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.State+" "+r.Rule)
	}
	return out
}

// TestFireClassPriority: every event of a kind-alarm hazard goes first in
// the outbox whatever its level (an R7 residual-current alarm is level 2);
// faults, lower hazards and tests do not; a level-1 escalation of a hazard
// does.
func TestFireClassPriority(t *testing.T) {
	d := newTestDaemon(t, "127.0.0.1:1")
	defer d.store.Close()
	cases := []struct {
		kind          rules.Kind
		hazard        string
		level, wanted int
	}{
		{rules.Open, "residual_current_alarm", 2, outbox.PriorityLevel1},
		{rules.Clear, "residual_current_alarm", 2, outbox.PriorityLevel1},
		{rules.Open, "cable_temp_alarm", 2, outbox.PriorityLevel1},
		{rules.Escalate, "arc_fault", 1, outbox.PriorityLevel1},
		{rules.Open, "smoke_fire_alarm", 1, outbox.PriorityLevel1},
		{rules.Escalate, "temp_rise_rate", 1, outbox.PriorityLevel1},
		{rules.Open, "temp_rise_rate", 2, outbox.PriorityTicket},
		{rules.Open, "detector_fault", 3, outbox.PriorityTicket},
		{rules.Open, "smoke_prealarm", 3, outbox.PriorityTicket},
		{rules.Test, "smoke_fire_alarm", 1, outbox.PriorityTicket},
	}
	for _, c := range cases {
		ev := rules.Event{Kind: c.kind, Device: "smoke-1f-kitchen", Rule: "Rx", Hazard: c.hazard, Level: c.level,
			TicketID: "smoke-1f-kitchen/Rx/20261129T001502.000", At: time.Now(), OccurrenceCount: 1}
		rec, err := d.loop.Record(ev)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Priority != c.wanted {
			t.Errorf("%v %s level %d: priority %d, want %d", c.kind, c.hazard, c.level, rec.Priority, c.wanted)
		}
	}
}
