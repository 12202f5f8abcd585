package serve_test

import (
	"context"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/downlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/station/serve"
	"github.com/fenghuo-iot/fenghuo/uplink/station/store"
)

// TestRealGatewayUplink: the gateway's own uplink (mqttlink draining an
// outbox, with its retained status and last will) feeds the station; the
// station's acknowledgement reaches the gateway, which answers that it
// recorded it; the gateway's stop (its offline status) raises 网关失联.
func TestRealGatewayUplink(t *testing.T) {
	b, c, _ := station(t, serve.Options{Township: township, WatchEvery: 20 * time.Millisecond})
	replies := mqtttest.Subscribe(t, b.URL(), topics.Reply())
	ob := outbox.NewMemory()
	for i, ep := range []string{"20261205T080000.000", "20261205T080001.000"} {
		tk := event(gwID, 0, rules.Open, ep, 1+2*i)
		p := payload(t, tk)
		rec := outbox.Record{EventID: tk.EventID, TicketID: tk.TicketID, State: tk.State, Hazard: tk.Hazard, Rule: tk.Rule,
			Device: tk.Device.ID, Level: tk.Level, Priority: outbox.PriorityTicket, Payload: p}
		if _, err := ob.Append(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	l, err := mqttlink.New(mqttlink.Options{Broker: b.URL(), TopicPrefix: topics.Prefix, TownshipCode: township, GatewayID: gwID,
		Outbox: ob, MinBackoff: 100 * time.Millisecond, MaxBackoff: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	poll(t, "the gateway's 2 tickets and its online status", func() bool {
		var gws struct{ Gateways []store.Gateway }
		c.do("GET", "/api/gateways", nil, &gws)
		return len(gws.Gateways) == 1 && gws.Gateways[0].Events == 2 && gws.Gateways[0].State == "online" && len(gws.Gateways[0].OpenGaps) == 0
	})
	var out struct{ Downlink string }
	if code := c.do("POST", "/api/orders/1/acknowledge", map[string]string{"note": "收到"}, &out); code != 200 || out.Downlink != "sent" {
		t.Fatalf("acknowledge: HTTP %d %+v", code, out)
	}
	r, err := downlink.ParseReply(replies.WaitFor(1, 10*time.Second)[0].Payload)
	if err != nil || !r.OK {
		t.Fatalf("the gateway's reply to the ack: %+v %v", r, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("gateway uplink: %v", err)
	}
	done <- nil // for the deferred receive
	poll(t, "网关失联 after the gateway stopped", func() bool {
		var os struct{ Orders []store.Order }
		c.do("GET", "/api/orders", nil, &os)
		for _, o := range os.Orders {
			if o.Origin == store.OriginLost && o.Gateway == gwID {
				return true
			}
		}
		return false
	})
}
