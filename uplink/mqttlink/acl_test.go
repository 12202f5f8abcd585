package mqttlink_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// aclTemplate returns the mosquitto acl_file block of docs/operations.md.
func aclTemplate(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```text\n# fenghuo mosquitto acl_file\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/operations.md: no ```text block starting with # fenghuo mosquitto acl_file")
	}
	return block
}

// client connects to the broker's secured listener as user.
func client(t *testing.T, url, user string, onMsg paho.MessageHandler) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(user + "-acl-test").
		SetUsername(user).SetPassword("pw-" + user).SetDefaultPublishHandler(onMsg))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("%s: connect: %v", user, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publishQoS1(t *testing.T, c paho.Client, topic, payload string) {
	t.Helper()
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// TestMosquittoACLTemplate runs docs/operations.md's mosquitto ACL for
// real: a gateway publishes only under its own P/T/G/ and reads only its
// own cmd; a station commands only its own township; and the gateway
// works under it.
func TestMosquittoACLTemplate(t *testing.T) {
	const other = "gw-330502103-other-02"
	const otherTownship = "330502104"
	station := "station-" + township
	acl := filepath.Join(t.TempDir(), "fenghuo.acl")
	if err := os.WriteFile(acl, []byte(aclTemplate(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	b := mqtttest.StartMosquittoWith(t, mqtttest.Options{
		Users: map[string]string{gateway: "pw-" + gateway, other: "pw-" + other, station: "pw-" + station},
		Extra: "acl_file " + acl + "\n",
	})
	// The anonymous listener has no ACL: it sees everything.
	all := mqtttest.Subscribe(t, b.URL(), "fenghuo/v1/#")
	mine := topics
	theirs := ticket.Topics{Prefix: topics.Prefix, Township: township, Gateway: other}
	elsewhere := ticket.Topics{Prefix: topics.Prefix, Township: otherTownship, Gateway: "gw-330502104-x"}

	// A gateway's forged publishes are dropped; its own arrive (in order,
	// so the marker proves the forged ones were not delivered).
	gw := client(t, b.SecureURL(), gateway, nil)
	for _, tp := range []string{theirs.Tickets(), theirs.Status(), theirs.Reply(), theirs.Cmd(), elsewhere.Cmd(), "fenghuo/v1/" + township + "/x"} {
		publishQoS1(t, gw, tp, "forged")
	}
	publishQoS1(t, gw, mine.Tickets(), "marker-gw")
	msgs := all.WaitUntil("the gateway's own ticket", 10*time.Second, func(ms []mqtttest.Message) bool {
		return slices.ContainsFunc(ms, func(m mqtttest.Message) bool { return string(m.Payload) == "marker-gw" })
	})
	for _, m := range msgs {
		if string(m.Payload) == "forged" {
			t.Errorf("a gateway published into %s", m.Topic)
		}
	}

	// A gateway cannot read another gateway's commands; the station
	// commands its own township only.
	got := make(chan string, 16)
	spy := client(t, b.SecureURL(), other, func(_ paho.Client, m paho.Message) { got <- m.Topic() + " " + string(m.Payload()) })
	for _, tp := range []string{mine.Cmd(), theirs.Cmd()} {
		if tok := spy.Subscribe(tp, 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe %s: %v", tp, tok.Error())
		}
	}
	st := client(t, b.SecureURL(), station, nil)
	publishQoS1(t, st, elsewhere.Cmd(), "forged")
	publishQoS1(t, st, mine.Tickets(), "forged")
	publishQoS1(t, st, mine.Cmd(), "for-gw")
	publishQoS1(t, st, theirs.Cmd(), "for-other")
	select {
	case m := <-got:
		if m != theirs.Cmd()+" for-other" {
			t.Errorf("the other gateway received %q, want only its own cmd", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the other gateway did not receive its own cmd")
	}
	msgs = all.WaitUntil("the station's commands", 10*time.Second, func(ms []mqtttest.Message) bool {
		return slices.ContainsFunc(ms, func(m mqtttest.Message) bool { return string(m.Payload) == "for-other" })
	})
	for _, m := range msgs {
		if string(m.Payload) == "forged" {
			t.Errorf("a publish into %s got through", m.Topic)
		}
	}
	select {
	case m := <-got:
		t.Errorf("the other gateway also received %q", m)
	default:
	}
	spy.Disconnect(100)

	// The gateway itself works under the ACL: online status, a command
	// from the station and its reply.
	status := mqtttest.Subscribe(t, b.URL(), mine.Status())
	reply := mqtttest.Subscribe(t, b.URL(), mine.Reply())
	start(t, mqttlink.Options{Broker: b.SecureURL(), Username: gateway, Password: "pw-" + gateway, Outbox: outbox.NewMemory()})
	status.WaitUntil("online", 10*time.Second, hasState("online"))
	publishQoS1(t, st, mine.Cmd(), `{"id":"acl-ping","cmd":"ping"}`)
	reply.WaitUntil("the ping's reply", 10*time.Second, hasReplies("acl-ping"))
}
