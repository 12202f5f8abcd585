package mqttlink_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fenghuo-iot/fenghuo/uplink/downlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/sqlite"
	"github.com/fenghuo-iot/fenghuo/uplink/station"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// pub publishes at QoS 1 and waits for each PUBACK, so messages reach the
// broker in order.
func pub(t *testing.T, url string) func(topic string, retained bool, payload []byte) {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("cmd-test-pub-" + t.Name()[:min(len(t.Name()), 20)]))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return func(topic string, retained bool, payload []byte) {
		if tok := c.Publish(topic, 1, retained, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
}

// replies parses the replies received so far by id.
func replies(t *testing.T, msgs []mqtttest.Message) map[string]downlink.Reply {
	t.Helper()
	out := map[string]downlink.Reply{}
	for _, m := range msgs {
		r, err := downlink.ParseReply(m.Payload)
		if err != nil {
			t.Fatalf("reply is not JSON: %s", m.Payload)
		}
		out[r.ID] = r
	}
	return out
}

func hasReplies(ids ...string) func([]mqtttest.Message) bool {
	return func(msgs []mqtttest.Message) bool {
		got := map[string]bool{}
		for _, m := range msgs {
			if r, err := downlink.ParseReply(m.Payload); err == nil {
				got[r.ID] = true
			}
		}
		for _, id := range ids {
			if !got[id] {
				return false
			}
		}
		return true
	}
}

// TestDownlinkCommands: ping, diag, ack (known and unknown ticket) and
// garbage on the cmd topic each get a reply; the link survives all of it;
// a command for another gateway is never seen.
func TestDownlinkCommands(t *testing.T) {
	b := mqtttest.StartMosquitto(t)
	reply := mqtttest.Subscribe(t, b.URL(), topics.Reply())
	otherTopics := ticket.Topics{Prefix: topics.Prefix, Township: township, Gateway: "gw-other"}
	otherReply := mqtttest.Subscribe(t, b.URL(), otherTopics.Reply())
	ob := outbox.NewMemory()
	rec, err := ob.Append(context.Background(), record(t, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	send := pub(t, b.URL())
	// A retained command (left on the broker) is refused when the link
	// subscribes: replaying it on every connect would repeat it.
	send(topics.Cmd(), true, []byte(`{"id":"r1","cmd":"ping"}`))
	status := mqtttest.Subscribe(t, b.URL(), topics.Status())
	l, _ := start(t, mqttlink.Options{Broker: b.URL(), Outbox: ob})
	status.WaitUntil("online", 10*time.Second, hasState("online"))

	send(otherTopics.Cmd(), false, []byte(`{"id":"other","cmd":"ping"}`))
	send(topics.Cmd(), false, []byte(`{"id":"p1","cmd":"ping"}`))
	send(topics.Cmd(), false, []byte(`{"id":"d1","cmd":"diag"}`))
	send(topics.Cmd(), false, []byte(`{"id":"a1","cmd":"ack","ticket_id":"`+rec[0].TicketID+`","by":"织里镇值班员"}`))
	send(topics.Cmd(), false, []byte(`{"id":"a2","cmd":"ack","ticket_id":"no/such/ticket","by":"x"}`))
	send(topics.Cmd(), false, []byte(`{"id":"u1","cmd":"reboot"}`))
	send(topics.Cmd(), false, []byte(`{"id":"t1","cmd":"ack","ticket_id":5,"by":"x"}`))
	send(topics.Cmd(), false, []byte("\x00\xff garbage"))
	send(topics.Cmd(), false, []byte(`{"id":"big","cmd":"ping","pad":"`+strings.Repeat("x", 5000)+`"}`))
	send(topics.Cmd(), false, []byte(`{"id":"last","cmd":"ping"}`))

	msgs := reply.WaitUntil("replies", 10*time.Second, hasReplies("p1", "d1", "a1", "a2", "u1", "t1", "r1", "big", "last", ""))
	got := replies(t, msgs)
	var anonymous []string // errors of commands whose id could not be read
	for _, m := range msgs {
		if r, _ := downlink.ParseReply(m.Payload); r.ID == "" && !r.OK {
			anonymous = append(anonymous, r.Error)
		}
	}
	if len(anonymous) != 1 || !strings.Contains(anonymous[0], "not valid UTF-8") {
		t.Errorf("replies without id: %q, want the garbage refused", anonymous)
	}
	// Under downlink.MaxPayload (a config command's size) a payload is read,
	// so its id is known; a ping over downlink.MaxSize is still refused.
	if r := got["big"]; r.OK || !strings.Contains(r.Error, "payload of 5034 bytes exceeds 4096") {
		t.Errorf("oversized ping: %+v", r)
	}
	if r := got["p1"]; !r.OK || r.Time == "" {
		t.Errorf("ping reply %+v", r)
	}
	if r := got["d1"]; !r.OK || len(r.Status) == 0 {
		t.Errorf("diag reply %+v", r)
	} else {
		mqtttest.ValidateStatus(t, r.Status)
	}
	if r := got["a1"]; !r.OK || r.TicketID != rec[0].TicketID || r.By != "织里镇值班员" || r.AckedAt == "" {
		t.Errorf("ack reply %+v", r)
	}
	for id, want := range map[string]string{"a2": "unknown ticket_id", "u1": "unknown command", "t1": `"ticket_id": must be a string`,
		"r1": "retained"} {
		if r, ok := got[id]; !ok || r.OK || !strings.Contains(r.Error, want) {
			t.Errorf("reply %q = %+v, want an error containing %q", id, r, want)
		}
	}
	acks, err := ob.Acks(context.Background(), "")
	if err != nil || len(acks) != 1 || acks[0].TicketID != rec[0].TicketID || acks[0].By != "织里镇值班员" {
		t.Fatalf("acks recorded %+v %v", acks, err)
	}
	if len(otherReply.Messages()) != 0 {
		t.Fatalf("a command for another gateway was answered: %s", otherReply.Messages()[0].Payload)
	}
	if handled, rejected := l.Commands(); handled != 10 || rejected != 6 {
		t.Errorf("Commands() = %d handled, %d rejected; want 10, 6", handled, rejected)
	}
	// The ack shows in the next diag.
	send(topics.Cmd(), false, []byte(`{"id":"d2","cmd":"diag"}`))
	r := replies(t, reply.WaitUntil("diag 2", 10*time.Second, hasReplies("d2")))["d2"]
	st, err := ticket.ParseStatus(r.Status)
	if err != nil || st.LastAck == nil || st.LastAck.TicketID != rec[0].TicketID {
		t.Fatalf("diag after ack: %s (%v)", r.Status, err)
	}
	mqtttest.ValidateStatus(t, r.Status)
	if !l.Connected() {
		t.Fatal("the link dropped its session over bad commands")
	}
}

// TestStationAckEndToEnd: `fenghuo station ack` (station.Ack) reaches the
// link, the SQLite outbox records who and when, and the reply says so.
func TestStationAckEndToEnd(t *testing.T) {
	b := mqtttest.StartMosquitto(t)
	reply := mqtttest.Subscribe(t, b.URL(), topics.Reply())
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "outbox.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rec, err := st.Append(context.Background(), record(t, 7, 1))
	if err != nil {
		t.Fatal(err)
	}
	tickets := mqtttest.Subscribe(t, b.URL(), topics.Tickets())
	start(t, mqttlink.Options{Broker: b.URL(), Outbox: st})
	tickets.WaitUntil("the ticket", 10*time.Second, distinct(1)) // the link is subscribed by now
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	before := time.Now()
	if err := station.Ack(ctx, b.URL(), topics.Prefix, township, gateway, rec[0].TicketID, "织里镇值班员"); err != nil {
		t.Fatal(err)
	}
	msgs := reply.WaitFor(1, 10*time.Second)
	r, err := downlink.ParseReply(msgs[0].Payload)
	if err != nil || !r.OK || r.TicketID != rec[0].TicketID {
		t.Fatalf("reply %s %v", msgs[0].Payload, err)
	}
	acks, err := st.Acks(context.Background(), rec[0].TicketID)
	if err != nil || len(acks) != 1 || acks[0].By != "织里镇值班员" || acks[0].At.Before(before.Add(-time.Second)) {
		t.Fatalf("acks %+v %v", acks, err)
	}
	if err := st.Ack(context.Background(), "nope", "x", time.Now()); !errors.Is(err, outbox.ErrUnknownTicket) {
		t.Fatal(err)
	}
}

// TestStationAckWait: station.AckWait gets the gateway's verdict.
func TestStationAckWait(t *testing.T) {
	b := mqtttest.StartMosquitto(t)
	ob := outbox.NewMemory()
	rec, err := ob.Append(context.Background(), record(t, 3, 2))
	if err != nil {
		t.Fatal(err)
	}
	status := mqtttest.Subscribe(t, b.URL(), topics.Status())
	start(t, mqttlink.Options{Broker: b.URL(), Outbox: ob})
	status.WaitUntil("online", 10*time.Second, hasState("online")) // subscribed to cmd before the online status
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := station.AckWait(ctx, b.URL(), topics.Prefix, township, gateway, rec[0].TicketID, "值班员")
	if err != nil || !r.OK || r.AckedAt == "" {
		t.Fatalf("AckWait: %+v %v", r, err)
	}
	if _, err := station.AckWait(ctx, b.URL(), topics.Prefix, township, gateway, "nope", "值班员"); err == nil || !strings.Contains(err.Error(), "unknown ticket_id") {
		t.Fatalf("AckWait of an unknown ticket: %v", err)
	}
}
