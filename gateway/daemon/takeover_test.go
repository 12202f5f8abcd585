package daemon

import (
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fenghuo-iot/fenghuo/drivers/modbustest"
	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// TestR28ClientIDConflict: a second client that takes the gateway's MQTT
// client id again and again (a cloned gateway) raises R28, a gateway
// fault ticket, which reaches the township.
func TestR28ClientIDConflict(t *testing.T) {
	const gw = "gw-330502103-test-01"
	slave := modbustest.Start(t, map[uint8]map[uint16]uint16{1: {16: 0}})
	broker := mqtttest.StartMosquitto(t)
	tickets := mqtttest.Subscribe(t, broker.URL(), "fenghuo/v1/330502103/"+gw+"/tickets")
	var (
		mu        sync.Mutex
		committed []outbox.Record
	)
	r28 := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.ContainsFunc(committed, func(r outbox.Record) bool { return r.Rule == "R28" && r.State == "open" })
	}
	d, _ := runDaemon(t, fmt.Sprintf(testConfig, slave.Addr, broker.URL(), filepath.Join(t.TempDir(), "outbox.db")), Options{
		OnCommitted: func(r outbox.Record) { mu.Lock(); committed = append(committed, r); mu.Unlock() },
		tuneLink: func(o *mqttlink.Options) {
			o.MinBackoff, o.MaxBackoff, o.AckTimeout = 10*time.Millisecond, 50*time.Millisecond, time.Second
		},
	})
	waitFor(t, 10*time.Second, "the uplink connected", d.link.Connected)

	// The rival connects again each time the gateway takes the id back.
	deadline := time.Now().Add(30 * time.Second)
	for !r28() {
		if time.Now().After(deadline) {
			t.Fatal("no R28 after 30 s of a rival client id")
		}
		lost := make(chan struct{})
		var once sync.Once
		rival := paho.NewClient(paho.NewClientOptions().AddBroker(broker.URL()).SetClientID(d.cfg.Uplink.MQTT.ClientID).
			SetAutoReconnect(false).SetConnectionLostHandler(func(paho.Client, error) { once.Do(func() { close(lost) }) }))
		if tok := rival.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("rival connect: %v", tok.Error())
		}
		select {
		case <-lost:
		case <-time.After(10 * time.Second):
			t.Fatal("the gateway did not take its client id back")
		}
		rival.Disconnect(0)
	}
	tickets.WaitUntil("R28 at the township", 20*time.Second, func(ms []mqtttest.Message) bool {
		return slices.ContainsFunc(ms, func(m mqtttest.Message) bool {
			tk := decodeNoSchema(t, m.Payload)
			return tk.Rule == "R28" && tk.State == "open" && tk.Hazard == "uplink_client_id_conflict" && tk.Label.Zh == "客户端标识冲突" &&
				tk.Kind == "fault" && tk.Level == 3 && tk.Device.ID == gw
		})
	})
}
