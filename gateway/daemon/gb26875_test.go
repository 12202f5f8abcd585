package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbustest"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/uplinks"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875/centre"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875/link"
	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

const gwID = "gw-330502103-test-01"

// gbConfig is testConfig with uplink.gb26875 pointing at centre.
func gbConfig(slave, broker, centreAddr, db string) string {
	return replaceOnce(fmt.Sprintf(testConfig, slave, broker, db), "  heartbeat: 30s\n",
		"  heartbeat: 30s\n  gb26875: {centre: \""+centreAddr+"\", address: 330502103001, centre_address: 1, confirm_timeout: 1s, retries: 3}\n")
}

// startCentre serves a reference centre on 127.0.0.1:0 until the test ends.
func startCentre(t *testing.T, o centre.Options) string { return startCentreTB(t, o) }

// startCentreTB is startCentre for tests and benchmarks.
func startCentreTB(t testing.TB, o centre.Options) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.Out == nil {
		o.Out = &syncLog{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- centre.New(o).Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("centre: %v", err)
		}
	})
	return ln.Addr().String()
}

// appType is the type flag of a send frame's data (0 for a heartbeat
// without data or bad data).
func appType(f gb26875.Frame) gb26875.TypeFlag {
	app, err := gb26875.DecodeAppData(f.Data)
	if err != nil {
		return 0
	}
	return app.Type
}

// fastGB shortens the centre link's timeouts for tests.
func fastGB(extra func(*link.Options)) func(*link.Options) {
	return func(o *link.Options) {
		o.ConfirmTimeout, o.MinBackoff, o.MaxBackoff, o.PollInterval = 300*time.Millisecond, 50*time.Millisecond, 200*time.Millisecond, 100*time.Millisecond
		if extra != nil {
			extra(o)
		}
	}
}

// TestFireAlarmReachesBothUplinks: a real mosquitto and a real centre
// that drops the fire alarm's first send and denies its second. The
// township receives the alarm while the centre has not confirmed it (the
// centre holds its third answer until MQTT has the alarm: were MQTT
// waiting for the centre, neither would ever arrive); the centre receives
// the same frame three times with the same serial number, and the record
// is marked delivered on the centre's uplink only once confirmed.
func TestFireAlarmReachesBothUplinks(t *testing.T) {
	slave := modbustest.Start(t, map[uint8]map[uint16]uint16{1: {16: 0}})
	broker := mqtttest.StartMosquitto(t)
	validator := mqtttest.NewValidator(t)
	tickets := mqtttest.Subscribe(t, broker.URL(), "fenghuo/v1/330502103/"+gwID+"/tickets")
	var (
		mu      sync.Mutex
		serials []uint16
		raws    []string
	)
	mqttGot := make(chan struct{})
	addr := startCentre(t, centre.Options{
		Decide: func(f gb26875.Frame) centre.Action {
			if appType(f) != gb26875.TypeComponentState {
				return centre.Confirm
			}
			mu.Lock()
			serials = append(serials, f.Serial)
			raws = append(raws, fmt.Sprintf("%x", f.Data))
			n := len(serials)
			mu.Unlock()
			switch n {
			case 1:
				return centre.Drop
			case 2:
				return centre.Deny
			case 3:
				select { // a bound, not a wait for a condition: the test fails below if MQTT never had it
				case <-mqttGot:
				case <-time.After(30 * time.Second):
				}
			}
			return centre.Confirm
		},
	})
	cfg := gbConfig(slave.Addr, broker.URL(), addr, filepath.Join(t.TempDir(), "outbox.db")) + "local: {metrics: \"127.0.0.1:0\"}\n"
	d, _ := runDaemon(t, cfg, Options{tuneGB: fastGB(nil)})
	waitFor(t, 10*time.Second, "both uplinks connected", func() bool { return d.link.Connected() && d.gb.Connected() })

	slave.SetHolding(1, 16, 1)
	msgs := tickets.WaitFor(1, 15*time.Second)
	open := decode(t, validator, msgs[0].Payload)
	if open.State != "open" || open.Hazard != "smoke_fire_alarm" {
		t.Fatalf("township got %s %s, want the smoke alarm's open", open.State, open.Hazard)
	}
	pending, err := d.gb.Outbox().Pending(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(pending, func(r outbox.Record) bool { return r.Seq == open.Seq }) {
		t.Fatalf("seq %d is not pending on the centre's uplink when the township has it: MQTT waited for the centre", open.Seq)
	}
	close(mqttGot)

	waitFor(t, 20*time.Second, "the alarm delivered on the centre's uplink", func() bool {
		st, err := d.gb.Outbox().Stats(context.Background())
		return err == nil && st.Depth == 0 && d.gb.Stats().Delivered >= 1
	})
	mu.Lock()
	defer mu.Unlock()
	if len(serials) != 3 || serials[0] != serials[1] || serials[1] != serials[2] {
		t.Fatalf("the centre got the alarm with serials %v, want the same serial three times (drop, deny, confirm)", serials)
	}
	if raws[0] != raws[1] || raws[1] != raws[2] {
		t.Fatalf("the retransmissions differ:\n%s", raws)
	}
	st := d.gb.Stats()
	if st.Timeouts < 1 || st.Denied < 1 || st.Retransmits < 2 {
		t.Fatalf("link stats %+v, want a timeout, a deny and two retransmissions", st)
	}
	status, err := d.views.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(status.Uplinks) != 2 || status.Uplinks[0].Name != "mqtt" || status.Uplinks[1].Name != uplinks.GB26875Name ||
		status.Uplinks[1].Depth != 0 || status.Uplinks[1].LastDeliveryAt.IsZero() || !status.Uplinks[1].Connected {
		t.Fatalf("status uplinks %+v", status.Uplinks)
	}
	body := scrape(t, d)
	for _, want := range []string{
		`fenghuo_outbox_depth{uplink="gb26875"} 0`, `fenghuo_outbox_depth{uplink="mqtt"} 0`,
		`fenghuo_uplink_connected{uplink="gb26875"} 1`, `fenghuo_uplink_connected{uplink="mqtt"} 1`,
		`fenghuo_outbox_sent_total{uplink="gb26875"} 1`, `fenghuo_uplink_transmission_fault{uplink="gb26875"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestCentreOutageDoesNotDelayMQTT: the centre link is cut; alarms raised
// meanwhile reach the township at once (all of them while the centre is
// still cut), and the centre link's own R25 (R25-gb26875) opens and
// reaches the township live. When the centre returns it receives every
// event in the outbox's order, and R25-gb26875 clears.
func TestCentreOutageDoesNotDelayMQTT(t *testing.T) {
	slave := modbustest.Start(t, map[uint8]map[uint16]uint16{1: {16: 0}})
	broker := mqtttest.StartMosquitto(t)
	validator := mqtttest.NewValidator(t)
	tickets := mqtttest.Subscribe(t, broker.URL(), "fenghuo/v1/330502103/"+gwID+"/tickets")
	addr := startCentre(t, centre.Options{})
	var (
		cut       linkCutter
		mu        sync.Mutex
		delivered []uint64
		committed []outbox.Record
	)
	d, _ := runDaemon(t, gbConfig(slave.Addr, broker.URL(), addr, filepath.Join(t.TempDir(), "outbox.db")), Options{
		OnCommitted: func(r outbox.Record) { mu.Lock(); committed = append(committed, r); mu.Unlock() },
		tuneLink:    func(o *mqttlink.Options) { o.FaultAfter = 500 * time.Millisecond },
		tuneGB: fastGB(func(o *link.Options) {
			o.Dial = cut.dial
			o.OnDelivered = func(r outbox.Record, _ time.Time) { mu.Lock(); delivered = append(delivered, r.Seq); mu.Unlock() }
		}),
	})
	waitFor(t, 10*time.Second, "both uplinks connected", func() bool { return d.link.Connected() && d.gb.Connected() })
	cut.cut()
	waitFor(t, 10*time.Second, "the centre link down", func() bool { return !d.gb.Connected() })

	for i := range 6 { // open, clear, open, clear, open, clear
		slave.SetHolding(1, 16, uint16(1-i%2))
		tickets.WaitUntil(fmt.Sprintf("%d R1 events over MQTT", i+1), 15*time.Second, func(ms []mqtttest.Message) bool {
			return countRule(t, ms, "R1") == i+1
		})
	}
	msgs := tickets.WaitUntil("R25-gb26875 opened, live over MQTT", 20*time.Second, func(ms []mqtttest.Message) bool {
		return slices.ContainsFunc(ms, func(m mqtttest.Message) bool {
			tk := decodeNoSchema(t, m.Payload)
			return tk.Rule == "R25-gb26875" && tk.State == "open"
		})
	})
	for _, m := range msgs {
		tk := decode(t, validator, m.Payload)
		if tk.Rule == "R25-gb26875" && (tk.Evidence == nil || tk.Evidence.Point != "transmission_fault_gb26875") {
			t.Fatalf("R25-gb26875 evidence %+v, want the point transmission_fault_gb26875", tk.Evidence)
		}
		if tk.Rule == "R25" {
			t.Fatalf("the MQTT link's R25 opened during the centre's outage: %+v", tk)
		}
	}
	if d.gb.Stats().Delivered != 0 {
		t.Fatal("records delivered through a cut centre link")
	}

	cut.restore()
	tickets.WaitUntil("R25-gb26875 cleared", 30*time.Second, func(ms []mqtttest.Message) bool {
		return slices.ContainsFunc(ms, func(m mqtttest.Message) bool {
			tk := decodeNoSchema(t, m.Payload)
			return tk.Rule == "R25-gb26875" && tk.State == "clear"
		})
	})
	waitFor(t, 20*time.Second, "the centre's backlog delivered", func() bool {
		st, err := d.gb.Outbox().Stats(context.Background())
		return err == nil && st.Depth == 0
	})
	mu.Lock()
	defer mu.Unlock()
	var want []uint64
	for _, r := range outboxOrder(committed) {
		want = append(want, r.Seq)
	}
	if !slices.Equal(delivered, want) {
		for _, r := range committed {
			t.Logf("seq %d prio %d %s %s", r.Seq, r.Priority, r.State, r.Rule)
		}
		t.Fatalf("the centre got seqs %v, want every committed event in the outbox's order %v", delivered, want)
	}
}

// countRule counts the tickets of rule in ms.
func countRule(t *testing.T, ms []mqtttest.Message, rule string) int {
	n := 0
	for _, m := range ms {
		if decodeNoSchema(t, m.Payload).Rule == rule {
			n++
		}
	}
	return n
}

// outboxOrder is recs in the order an uplink drains them: fire class
// first, then the other tickets, by seq (outbox Pending order), as far as
// they were all pending at once.
func outboxOrder(recs []outbox.Record) []outbox.Record {
	out := slices.Clone(recs)
	slices.SortStableFunc(out, func(a, b outbox.Record) int {
		if a.Priority != b.Priority {
			return int(a.Priority) - int(b.Priority)
		}
		return int(a.Seq) - int(b.Seq)
	})
	return out
}

// TestUplinkTraceThroughTheAPI: `diag trace --uplink gb26875` through the
// local API shows the alarm's frame in hex with its decoding, and the
// centre's confirm; an uplink that cannot be traced is refused (400).
func TestUplinkTraceThroughTheAPI(t *testing.T) {
	slave := modbustest.Start(t, map[uint8]map[uint16]uint16{1: {16: 0}})
	broker := mqtttest.StartMosquitto(t)
	addr := startCentre(t, centre.Options{})
	d, _ := runDaemon(t, gbConfig(slave.Addr, broker.URL(), addr, filepath.Join(t.TempDir(), "outbox.db")), Options{tuneGB: fastGB(nil)})
	waitFor(t, 10*time.Second, "the centre link connected", d.gb.Connected)
	client := api.NewClient(d.cfg.Local.Socket)
	var re *api.RejectedError
	if err := client.UplinkTrace(context.Background(), "mqtt", time.Second, func(api.UplinkFrame) {}); !errors.As(err, &re) {
		t.Fatalf("trace of mqtt: %v, want a rejection", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu     sync.Mutex
		frames []api.UplinkFrame
	)
	done := make(chan error, 1)
	go func() {
		done <- client.UplinkTrace(ctx, "gb26875", 60*time.Second, func(f api.UplinkFrame) {
			mu.Lock()
			frames = append(frames, f)
			mu.Unlock()
			if f.Dir == "rx" && strings.Contains(f.Summary, "confirm") && len(frames) > 1 {
				cancel()
			}
		})
	}()
	waitFor(t, 10*time.Second, "the trace registered", func() bool { return d.gb.Tracers() == 1 })
	slave.SetHolding(1, 16, 1)
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("trace: %v", err)
		}
	case <-time.After(30 * time.Second):
		mu.Lock()
		t.Fatalf("no confirm traced within 30 s: %+v", frames)
	}
	mu.Lock()
	defer mu.Unlock()
	tx := frames[0]
	if tx.Dir != "tx" || tx.Uplink != "gb26875" || !strings.HasPrefix(tx.Hex, "4040") || !strings.HasSuffix(tx.Hex, "2323") ||
		!strings.Contains(tx.Summary, "send") || len(tx.Objects) < 2 || !strings.Contains(tx.Objects[0], "(2)") || !strings.Contains(tx.Objects[1], "一楼厨房烟感") {
		t.Fatalf("first traced frame %+v, want the alarm's send with its component state decoded", tx)
	}
	waitFor(t, 5*time.Second, "the trace unregistered", func() bool { return d.gb.Tracers() == 0 })
}
