package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// TestRunDeliversTicketsAndStopsCleanly drives `fenghuo run` as installed:
// a config file, a simulated detector, a real mosquitto. The alarm bit
// gives an open ticket, its drop a clear; stopping the daemon (SIGTERM is
// a cancelled context here) exits 0 and leaves a retained offline status.
func TestRunDeliversTicketsAndStopsCleanly(t *testing.T) {
	profiles, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := profiles.Get("smoke-detector")
	srv := sim.NewServer()
	dev := srv.AddDevice(3, p)
	addr, err := srv.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	broker := mqtttest.StartMosquitto(t)
	v := mqtttest.NewValidator(t)
	base := "fenghuo/v1/330502103/gw-330502103-run-01/"
	tickets := mqtttest.Subscribe(t, broker.URL(), base+"tickets")

	dir := t.TempDir()
	cfg := writeFile(t, "fenghuo.yaml", fmt.Sprintf(`
gateway:
  id: gw-330502103-run-01
  site: {name: 云村文化礼堂, township: 织里镇, township_code: "330502103"}
buses:
  - {name: lan, type: tcp, address: "%s", timeout: 300ms}
devices:
  - {id: smoke-3f, name: 三楼烟感, bus: lan, slave: 3, profile: smoke-detector, location: 三楼走廊, poll: 200ms}
uplink:
  mqtt: {broker: "%s", connect_spread: 0s}
buffer: {path: "%s"}
local: {socket: "%s", metrics: ""}
log: {level: debug}
`, addr, broker.URL(), filepath.Join(dir, "outbox.db"), filepath.Join(dir, "fenghuo.sock")))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() { code <- run(ctx, []string{"run", "--config", cfg}, &stdout, &stderr) }()

	if err := dev.SetBit("status", 1, true); err != nil {
		t.Fatal(err)
	}
	open := parseTicket(t, v, tickets.WaitFor(1, 15*time.Second)[0].Payload)
	if err := dev.SetBit("status", 1, false); err != nil {
		t.Fatal(err)
	}
	clr := parseTicket(t, v, tickets.WaitFor(2, 15*time.Second)[1].Payload)
	if open.State != "open" || open.Hazard != "smoke_fire_alarm" || clr.State != "clear" || clr.TicketID != open.TicketID {
		t.Fatalf("tickets: %s %s, then %s %s; want open then clear of one smoke_fire_alarm", open.State, open.Hazard, clr.State, clr.TicketID)
	}
	if open.Device.Location != "三楼走廊" || open.Device.Slave != 3 {
		t.Fatalf("device block %+v does not come from the config", open.Device)
	}

	// The township acknowledges the ticket; the gateway records it and replies.
	var ackOut, ackErr syncBuffer
	if c := run(context.Background(), []string{"station", "ack", open.TicketID, "--broker", broker.URL(),
		"--township", "330502103", "--gateway", "gw-330502103-run-01", "--by", "织里镇值班员"}, &ackOut, &ackErr); c != 0 ||
		!strings.Contains(ackOut.String(), "recorded the ack of "+open.TicketID) {
		t.Fatalf("station ack: exit %d, stdout %q, stderr %q", c, ackOut.String(), ackErr.String())
	}
	if c := run(context.Background(), []string{"station", "ack", "no-such-ticket", "--broker", broker.URL(),
		"--township", "330502103", "--gateway", "gw-330502103-run-01"}, &ackOut, &ackErr); c != 1 ||
		!strings.Contains(ackErr.String(), "refused") {
		t.Fatalf("ack of an unknown ticket: exit %d, stderr %q; want exit 1 and the gateway's refusal", c, ackErr.String())
	}

	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("run exited %d after stop, want 0\n%s", c, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop within 15 s")
	}
	status := mqtttest.Subscribe(t, broker.URL(), base+"status")
	msgs := status.WaitFor(1, 10*time.Second)
	v.Validate(t, msgs[0].Payload)
	var st ticket.Status
	if err := json.Unmarshal(msgs[0].Payload, &st); err != nil {
		t.Fatal(err)
	}
	if !msgs[0].Retained || st.State != "offline" {
		t.Fatalf("status after stop: retained %v state %q, want a retained offline", msgs[0].Retained, st.State)
	}
	if strings.Contains(stderr.String(), "level=ERROR") {
		t.Fatalf("run logged errors:\n%s", stderr.String())
	}
}

func parseTicket(t *testing.T, v *mqtttest.Validator, payload []byte) ticket.Ticket {
	t.Helper()
	v.Validate(t, payload)
	var tk ticket.Ticket
	if err := json.Unmarshal(payload, &tk); err != nil {
		t.Fatal(err)
	}
	return tk
}
