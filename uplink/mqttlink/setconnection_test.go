package mqttlink_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/downlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// moveTo prepares the connection to broker url on l.
func moveTo(t *testing.T, l *mqttlink.Link, url string) *mqttlink.Connection {
	t.Helper()
	c, err := l.PrepareConnection(mqttlink.Options{Broker: url})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSetConnectionMovesBroker: SetConnection with the same settings keeps
// the session; with another broker the link says offline on the old one
// (retained, not the last will), connects to the new one, and the records
// appended after the move, and those in the outbox, are delivered there.
func TestSetConnectionMovesBroker(t *testing.T) {
	a, b := mqtttest.StartMosquitto(t), mqtttest.StartMosquitto(t)
	statusA := mqtttest.Subscribe(t, a.URL(), topics.Status())
	statusB := mqtttest.Subscribe(t, b.URL(), topics.Status())
	ticketsA := mqtttest.Subscribe(t, a.URL(), topics.Tickets())
	ticketsB := mqtttest.Subscribe(t, b.URL(), topics.Tickets())
	ob := outbox.NewMemory()
	l, _ := start(t, mqttlink.Options{Broker: a.URL(), Outbox: ob})
	appendN(t, ob, 1, 3)
	l.Notify()
	decode(t, ticketsA.WaitUntil("3 tickets on A", 10*time.Second, distinct(3)))

	if !l.ConnectedAsConfigured() {
		t.Fatal("connected to A, but not as configured")
	}
	if l.SetConnection(moveTo(t, l, a.URL())) {
		t.Fatal("SetConnection with the running settings reported a change")
	}
	if _, err := l.PrepareConnection(mqttlink.Options{Broker: "tcp://b.test:1883", CertFile: "/nonexistent.pem"}); err == nil {
		t.Fatal("PrepareConnection accepted a cert_file without its key_file")
	}
	if _, err := l.PrepareConnection(mqttlink.Options{Broker: "ssl://b.test:8883", CAFile: "/nonexistent/ca.pem"}); err == nil ||
		!strings.Contains(err.Error(), "ca_file") {
		t.Fatalf("PrepareConnection with a missing CA file: %v, want a ca_file error", err)
	}
	if l.Broker() != a.URL() {
		t.Fatalf("a refused connection changed the broker to %s", l.Broker())
	}
	time.Sleep(300 * time.Millisecond)
	if hasState("offline")(statusA.Messages()) {
		t.Fatal("the link went offline on A without a change")
	}

	if !l.SetConnection(moveTo(t, l, b.URL())) {
		t.Fatal("SetConnection to another broker reported no change")
	}
	if l.Broker() != b.URL() {
		t.Fatalf("Broker() = %s after the move, want %s", l.Broker(), b.URL())
	}
	msgs := statusA.WaitUntil("offline on A", 10*time.Second, hasState("offline"))
	statusB.WaitUntil("online on B", 10*time.Second, hasState("online"))
	last, err := ticket.ParseStatus(msgs[len(msgs)-1].Payload)
	if err != nil || last.State != "offline" {
		t.Fatalf("last status on A: %s (%v)", msgs[len(msgs)-1].Payload, err)
	}
	waitUntil(t, "connected to B", 10*time.Second, l.ConnectedAsConfigured)
	appendN(t, ob, 4, 6)
	l.Notify()
	got := decode(t, ticketsB.WaitUntil("3 tickets on B", 10*time.Second, distinct(3)))
	for _, tk := range got {
		if d := tk.Device.ID; d == "smoke-1" || d == "smoke-2" || d == "smoke-3" {
			t.Errorf("B received %s, delivered on A before the move", tk.EventID)
		}
	}
	if n := len(decode(t, ticketsA.Messages())); n != 3 {
		t.Errorf("A received %d tickets, want the 3 before the move", n)
	}
}

// TestSetConnectionCutsTheBackoff: a link retrying an unreachable broker
// on a one-hour backoff connects at once when it is moved to a broker
// that answers: a move is not an outage.
func TestSetConnectionCutsTheBackoff(t *testing.T) {
	b := mqtttest.StartMosquitto(t)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "tcp://" + dead.Addr().String()
	dead.Close() // refused from now on
	ob := outbox.NewMemory()
	appendN(t, ob, 1, 2)
	tickets := mqtttest.Subscribe(t, b.URL(), topics.Tickets())
	l, _ := start(t, mqttlink.Options{Broker: deadURL, Outbox: ob, MinBackoff: time.Hour, MaxBackoff: time.Hour})
	time.Sleep(500 * time.Millisecond) // the first attempt failed: the link waits its hour
	if l.Connected() {
		t.Fatal("connected to a closed port")
	}
	l.SetConnection(moveTo(t, l, b.URL()))
	decode(t, tickets.WaitUntil("the 2 buffered tickets on the new broker", 10*time.Second, distinct(2)))
}

// TestConfigCommandRepliesBeforeMoving: a config command whose handler
// moves the link (as a pushed config with a new broker does) is answered
// on the connection it came on, before the link leaves that broker.
func TestConfigCommandRepliesBeforeMoving(t *testing.T) {
	a, b := mqtttest.StartMosquitto(t), mqtttest.StartMosquitto(t)
	key := []byte("township-key-0123456789abcdef")
	replyA := mqtttest.Subscribe(t, a.URL(), topics.Reply())
	statusB := mqtttest.Subscribe(t, b.URL(), topics.Status())
	var l *mqttlink.Link
	moved := make(chan bool, 1)
	l, _ = start(t, mqttlink.Options{Broker: a.URL(), Outbox: outbox.NewMemory(), CmdKey: key,
		Config: func(_ context.Context, yaml []byte, _ string) downlink.ConfigResult {
			c, err := l.PrepareConnection(mqttlink.Options{Broker: strings.TrimSpace(string(yaml))})
			if err != nil {
				return downlink.ConfigResult{Problems: []string{err.Error()}}
			}
			moved <- l.SetConnection(c)
			time.Sleep(200 * time.Millisecond) // the handler is still busy when the session sees the move
			return downlink.ConfigResult{Applied: true, Hash: "h"}
		}})
	waitUntil(t, "connected to A", 10*time.Second, l.Connected)
	body := fmt.Sprintf(`{"id":"cfg-1","cmd":"config","config":%q,"ts":%q}`, b.URL(), ticket.FormatTime(time.Now()))
	cmd, err := downlink.Sign(key, topics.Cmd(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	pub(t, a.URL())(topics.Cmd(), false, cmd)
	if !<-moved {
		t.Fatal("the move reported no change")
	}
	msgs := replyA.WaitUntil("the config reply on A", 10*time.Second, hasReplies("cfg-1"))
	if r := replies(t, msgs)["cfg-1"]; !r.OK || r.Config == nil || !r.Config.Applied {
		t.Fatalf("reply on A: %+v", r)
	}
	statusB.WaitUntil("online on B", 10*time.Second, hasState("online"))
}
