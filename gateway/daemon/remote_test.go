package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/uplink/downlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

const remoteConfig = `
gateway:
  id: %s
  site: {name: 云村文化礼堂, township: 织里镇, township_code: "330502103"}
buses:
  - {name: lan, type: tcp, address: "%s", timeout: 300ms, retries: 0}
devices:
  - {id: smoke-1, name: 一楼厨房烟感, bus: lan, slave: 1, profile: smoke-detector, location: 一楼厨房}
uplink:
  mqtt: {broker: "%s", connect_spread: 0s}
  telemetry: {enabled: false}
  cmd_key_file: %s
  allow_remote_control: %v
buffer: {path: "%s"}
`

// TestRemoteControl: a signed downlink control command runs only where
// uplink.allow_remote_control is true: it writes the detector's command
// register and is recorded as a remote operation; elsewhere it is refused
// with the reason. A ping carrying the platform's time sets the status's
// clock offset.
func TestRemoteControl(t *testing.T) {
	profiles, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	srv := sim.NewServer()
	ps, _ := profiles.Get("smoke-detector")
	smoke := srv.AddDevice(1, ps)
	addr, err := srv.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	broker := mqtttest.StartMosquitto(t)
	key := []byte("a township key of at least thirty-two bytes")
	keyFile := filepath.Join(t.TempDir(), "cmd.key")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(broker.URL()).SetClientID("township-test"))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer pub.Disconnect(0)
	send := func(gw string, cmd downlink.Command) downlink.Reply {
		t.Helper()
		prefix := "fenghuo/v1/330502103/" + gw + "/"
		replies := mqtttest.Subscribe(t, broker.URL(), prefix+"reply")
		body, err := cmd.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		payload, err := downlink.Sign(key, prefix+"cmd", body)
		if err != nil {
			t.Fatal(err)
		}
		if tok := pub.Publish(prefix+"cmd", 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
		msgs := replies.WaitFor(1, 20*time.Second)
		rep, err := downlink.ParseReply(msgs[0].Payload)
		if err != nil || rep.ID != cmd.ID {
			t.Fatalf("reply %s: %v", msgs[0].Payload, err)
		}
		return rep
	}
	now := func() string { return time.Now().Format(time.RFC3339Nano) }

	for _, allow := range []bool{false, true} {
		gw := fmt.Sprintf("gw-330502103-remote-%v", allow)
		var ops []outbox.Record
		opDone := make(chan struct{}, 1)
		d, stop := runDaemon(t, fmt.Sprintf(remoteConfig, gw, addr, broker.URL(), keyFile, allow, filepath.Join(t.TempDir(), "outbox.db")),
			Options{OnCommitted: func(r outbox.Record) {
				if r.State == "operation" {
					ops = append(ops, r)
					opDone <- struct{}{}
				}
			}})
		waitFor(t, 10*time.Second, "the uplink connected", d.link.Connected)
		if err := smoke.Set("command", 0); err != nil {
			t.Fatal(err)
		}
		rep := send(gw, downlink.Command{ID: "ctl-" + gw, Cmd: downlink.CmdControl, Device: "smoke-1", Action: "self-test", By: "值班员", TS: now()})
		if !allow {
			if rep.OK || !strings.Contains(rep.Error, "uplink.allow_remote_control: false") {
				t.Errorf("control where it is not allowed: %+v", rep)
			}
			if v, _ := smoke.Get("command"); v != 0 {
				t.Errorf("the refused command was written: command = %v", v)
			}
			stop()
			continue
		}
		if !rep.OK || rep.Control == nil || rep.Control.Result != "ok" || rep.Control.Seq == 0 {
			t.Fatalf("control: %+v %+v", rep, rep.Control)
		}
		if v, _ := smoke.Get("command"); v != 3 {
			t.Errorf("command register = %v, want 3 (self-test)", v)
		}
		<-opDone
		if tk := decodeNoSchema(t, ops[0].Payload); tk.Operation == nil || tk.Operation.Source != "remote" || tk.Operation.By != "remote:值班员" {
			t.Errorf("operation record: %+v", tk.Operation)
		}

		// The platform's clock 10 s behind the gateway's.
		if rep := send(gw, downlink.Command{ID: "ping-" + gw, Cmd: downlink.CmdPing, TS: now(), Now: time.Now().Add(-10 * time.Second).Format(time.RFC3339Nano)}); !rep.OK {
			t.Fatalf("ping: %+v", rep)
		}
		st := d.status()
		if st.ClockOffsetMS == nil || *st.ClockOffsetMS < 9_000 || *st.ClockOffsetMS > 11_000 {
			t.Errorf("clock_offset_ms = %v, want about 10000", st.ClockOffsetMS)
		}
		stop()
	}
}
