package station_test

import (
	"context"
	"errors"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/station"
)

// TestResolveGateway: the gateway from the ticket id, the township from
// the gateway's retained status; overrides are kept; no status, no guess.
func TestResolveGateway(t *testing.T) {
	b := mqtttest.StartMosquitto(t)
	c := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("status-pub"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(100)
	if tok := c.Publish(topics.Status(), 1, true, []byte(`{"schema":"fenghuo.status.v1","gateway_id":"`+gw+`","state":"online"}`)); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tid := gw + "/smoke-1f-kitchen/R1/20261129T001502.000"
	tw, g, err := station.ResolveGateway(ctx, b.URL(), "fenghuo/v1", tid, "", "")
	if err != nil || tw != "330502103" || g != gw {
		t.Fatalf("resolve: %s %s %v", tw, g, err)
	}
	if tw, g, err := station.ResolveGateway(ctx, "tcp://unused:1", "", tid, "111111111", "gw-x"); err != nil || tw != "111111111" || g != "gw-x" {
		t.Fatalf("overrides: %s %s %v", tw, g, err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	if _, _, err := station.ResolveGateway(short, b.URL(), "fenghuo/v1", "gw-never-seen/x/R1/20261129T001502.000", "", ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unknown gateway: %v", err)
	}
	if _, _, err := station.ResolveGateway(ctx, b.URL(), "", "NOT A TICKET", "", ""); err == nil {
		t.Fatal("a ticket id without a gateway resolved")
	}
}
