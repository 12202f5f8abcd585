package daemon

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbustest"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// linkCutter relays the uplink's connections through net.Pipe so a test
// can cut them like a network failure (as uplink/mqttlink's tests do):
// paho reads EOF, the broker sees the socket die, and new dials are
// refused until restore.
type linkCutter struct {
	mu     sync.Mutex
	conns  []net.Conn
	refuse bool
}

func (c *linkCutter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refuse {
		return nil, fmt.Errorf("test: the uplink is cut")
	}
	real, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	mine, theirs := net.Pipe()
	relay := func(dst io.Writer, src io.Reader) { _, _ = io.Copy(dst, src) } // ends at the cut
	go relay(real, mine)
	go relay(mine, real)
	c.conns = append(c.conns, real, mine)
	return theirs, nil
}

func (c *linkCutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refuse = true
	for _, conn := range c.conns {
		_ = conn.Close()
	}
	c.conns = nil
}

func (c *linkCutter) restore() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refuse = false
}

// TestR25TicketsAfterTheUplinkReturns: the uplink is cut while a smoke
// alarm waits in the outbox; past the (shortened) R25 threshold the
// gateway's own R25 ticket is committed beside it. When the link returns,
// the township receives the alarm, then R25's open (buffered, device =
// the gateway, occurred during the outage), then R25's clear once the
// backlog is delivered: all schema-valid, in seq order.
func TestR25TicketsAfterTheUplinkReturns(t *testing.T) {
	const gw = "gw-330502103-test-01"
	slave := modbustest.Start(t, map[uint8]map[uint16]uint16{1: {16: 0}})
	broker := mqtttest.StartMosquitto(t)
	validator := mqtttest.NewValidator(t)
	tickets := mqtttest.Subscribe(t, broker.URL(), "fenghuo/v1/330502103/"+gw+"/tickets")
	var (
		cut       linkCutter
		mu        sync.Mutex
		committed []outbox.Record
	)
	d, _ := runDaemon(t, fmt.Sprintf(testConfig, slave.Addr, broker.URL(), filepath.Join(t.TempDir(), "outbox.db")), Options{
		OnCommitted: func(r outbox.Record) { mu.Lock(); committed = append(committed, r); mu.Unlock() },
		tuneLink: func(o *mqttlink.Options) {
			o.FaultAfter, o.MinBackoff, o.MaxBackoff, o.Dial = 500*time.Millisecond, 50*time.Millisecond, 200*time.Millisecond, cut.dial
		},
	})
	waitFor(t, 10*time.Second, "the uplink connected", d.link.Connected)

	cut.cut()
	waitFor(t, 10*time.Second, "the uplink down", func() bool { return !d.link.Connected() })
	slave.SetHolding(1, 16, 1)
	waitFor(t, 20*time.Second, "R25 committed while the uplink is cut", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.ContainsFunc(committed, func(r outbox.Record) bool { return r.Rule == "R25" && r.State == "open" })
	})
	if n := len(tickets.Messages()); n != 0 {
		t.Fatalf("%d tickets reached the township through a cut uplink", n)
	}
	restored := time.Now()
	cut.restore()

	msgs := tickets.WaitUntil("R25 cleared", 20*time.Second, func(ms []mqtttest.Message) bool {
		return slices.ContainsFunc(ms, func(m mqtttest.Message) bool {
			tk := decodeNoSchema(t, m.Payload)
			return tk.Rule == "R25" && tk.State == "clear"
		})
	})
	var got []string
	var open, clr ticket.Ticket
	for _, m := range msgs {
		tk := decode(t, validator, m.Payload)
		got = append(got, fmt.Sprintf("%d %s %s", tk.Seq, tk.State, tk.Rule))
		switch {
		case tk.Rule == "R25" && tk.State == "open":
			open = tk
		case tk.Rule == "R25" && tk.State == "clear":
			clr = tk
		}
	}
	if want := []string{"1 open R1", "2 open R25", "3 clear R25"}; !slices.Equal(got, want) {
		t.Fatalf("tickets after the outage:\n got  %v\n want %v", got, want)
	}
	if !open.Buffered || open.Device.ID != gw || open.Device.Profile != ticket.GatewayProfile || open.Category != "gateway" ||
		open.Kind != "fault" || open.Level != 3 || open.Hazard != "uplink_transmission_fault" || open.Label.Zh != "传输故障" {
		t.Fatalf("R25 open: buffered %v device %+v category %s kind %s level %d hazard %s", open.Buffered, open.Device, open.Category, open.Kind, open.Level, open.Hazard)
	}
	if !strings.HasPrefix(open.TicketID, gw+"/"+gw+"/R25/") || clr.TicketID != open.TicketID {
		t.Fatalf("ticket ids: open %s clear %s, want %s/%s/R25/… for both", open.TicketID, clr.TicketID, gw, gw)
	}
	occurred, err := time.Parse(time.RFC3339Nano, open.OccurredAt)
	if err != nil || !occurred.Before(restored) {
		t.Fatalf("R25 occurred_at %s (%v), want during the outage (before %s)", open.OccurredAt, err, restored.Format(time.RFC3339Nano))
	}
	if d.link.TransmissionFault() {
		t.Fatal("the link still reports the transmission fault after the clear")
	}
}

// TestR25RestoredAfterARestart: a gateway restarted during the outage
// restores its open R25 from the outbox like any hazard; once the link
// works, the township gets the open and its clear under one ticket id,
// and no second open.
func TestR25RestoredAfterARestart(t *testing.T) {
	const gw = "gw-330502103-test-01"
	slave := modbustest.Start(t, map[uint8]map[uint16]uint16{1: {16: 0}})
	broker := mqtttest.StartMosquitto(t)
	validator := mqtttest.NewValidator(t)
	tickets := mqtttest.Subscribe(t, broker.URL(), "fenghuo/v1/330502103/"+gw+"/tickets")
	cfgText := fmt.Sprintf(testConfig, slave.Addr, broker.URL(), filepath.Join(t.TempDir(), "outbox.db"))
	var r25 atomic.Bool
	cut := &linkCutter{refuse: true}
	_, stop := runDaemon(t, cfgText, Options{
		OnCommitted: func(r outbox.Record) {
			if r.Rule == "R25" {
				r25.Store(true)
			}
		},
		tuneLink: func(o *mqttlink.Options) { o.FaultAfter, o.Dial = 500*time.Millisecond, cut.dial },
	})
	slave.SetHolding(1, 16, 1)
	waitFor(t, 20*time.Second, "R25 committed while the uplink is cut", r25.Load)
	stop()

	runDaemon(t, cfgText, Options{tuneLink: func(o *mqttlink.Options) { o.FaultAfter = 500 * time.Millisecond }})
	msgs := tickets.WaitUntil("R25 cleared", 20*time.Second, func(ms []mqtttest.Message) bool {
		return slices.ContainsFunc(ms, func(m mqtttest.Message) bool {
			tk := decodeNoSchema(t, m.Payload)
			return tk.Rule == "R25" && tk.State == "clear"
		})
	})
	var got []string
	ids := map[string]bool{}
	for _, m := range msgs {
		tk := decode(t, validator, m.Payload)
		got = append(got, fmt.Sprintf("%d %s %s", tk.Seq, tk.State, tk.Rule))
		if tk.Rule == "R25" {
			ids[tk.TicketID] = true
		}
	}
	if want := []string{"1 open R1", "2 open R25", "3 clear R25"}; !slices.Equal(got, want) {
		t.Fatalf("tickets after the restart:\n got  %v\n want %v", got, want)
	}
	for id := range ids {
		if len(ids) != 1 || !strings.HasPrefix(id, gw+"/"+gw+"/R25/") {
			t.Fatalf("R25 ticket ids %v, want one %s/%s/R25/…", ids, gw, gw)
		}
	}
}

// TestDeviceMayNotTakeTheGatewayID: the gateway's own tickets use its id
// as their device, so a configured device with that id is refused.
func TestDeviceMayNotTakeTheGatewayID(t *testing.T) {
	text := fmt.Sprintf(testConfig, "127.0.0.1:1", "tcp://127.0.0.1:1", filepath.Join(t.TempDir(), "outbox.db"))
	text = replaceOnce(text, "id: smoke-1f-kitchen", "id: gw-330502103-test-01")
	_, err := config.Parse([]byte(text))
	if err == nil || !strings.Contains(err.Error(), `devices[0].id: "gw-330502103-test-01" is the gateway's own id (gateway.id)`) {
		t.Fatalf("config: %v, want the devices[0].id error", err)
	}
}
