package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

const controlConfig = `
gateway:
  id: gw-330502103-ctl-01
  site: {name: 云村文化礼堂, township: 织里镇, township_code: "330502103"}
buses:
  - {name: lan, type: tcp, address: "%s", timeout: 300ms, retries: 0}
devices:
  - {id: smoke-1, name: 一楼厨房烟感, bus: lan, slave: 1, profile: smoke-detector, location: 一楼厨房}
  - {id: meter-1, name: 总表, bus: lan, slave: 8, profile: smart-meter-3p}
  - {id: gone-1, name: 已拆除烟感, bus: lan, slave: 9, profile: smoke-detector}
uplink:
  mqtt: {broker: "tcp://127.0.0.1:1"}
  telemetry: {enabled: false}
buffer: {path: "%s"}
`

// controlSite serves a smoke detector and a meter on a simulator; slave 9
// is configured but never answers.
func controlSite(t *testing.T) (cfgText string, smoke *sim.Device) {
	t.Helper()
	profiles, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	srv := sim.NewServer()
	ps, _ := profiles.Get("smoke-detector")
	pm, _ := profiles.Get("smart-meter-3p")
	smoke = srv.AddDevice(1, ps)
	srv.AddDevice(8, pm)
	addr, err := srv.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return fmt.Sprintf(controlConfig, addr, filepath.Join(t.TempDir(), "outbox.db")), smoke
}

// TestControlWritesAndRecords: diag control writes the profile's command
// value through the daemon's bus owner and commits an operation record
// that validates against the ticket schema; an action the profile lacks,
// an unknown device and a device that does not answer are each told apart.
func TestControlWritesAndRecords(t *testing.T) {
	cfgText, smoke := controlSite(t)
	var committed []outbox.Record
	done := make(chan struct{}, 8)
	d, _ := runDaemon(t, cfgText, Options{OnCommitted: func(r outbox.Record) {
		if r.State == "operation" {
			committed = append(committed, r)
			done <- struct{}{}
		}
	}})
	c := api.NewClient(d.cfg.Local.Socket)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	waitFor(t, 10*time.Second, "the local API", func() bool { _, err := c.Status(ctx); return err == nil })

	res, err := c.Control(ctx, api.ControlRequest{Device: "smoke-1", Action: "self-test", By: "值班员\x1b[2J"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Result != "ok" || res.Point != "command" || res.Address != 32 || res.Value != 3 || res.Seq == 0 || res.RecordError != "" {
		t.Fatalf("self-test: %+v", res)
	}
	if v, _ := smoke.Get("command"); v != 3 {
		t.Errorf("the simulator's command register = %v, want 3 (the profile's self-test value)", v)
	}
	<-done
	stamped, err := ticket.Stamp(committed[0].Payload, committed[0].Seq, time.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	tk := decode(t, mqtttest.NewValidator(t), stamped)
	if tk.State != "operation" || tk.Kind != "operation" || tk.GBT45839Status != 1 || tk.NoticeTypeZh != "操作信息" ||
		tk.Operation == nil || tk.Operation.Action != "self-test" || tk.Operation.Source != "local" || tk.Operation.By != "值班员" {
		t.Errorf("operation record: %+v %+v", tk, tk.Operation)
	}
	if committed[0].Priority != outbox.PriorityTicket {
		t.Errorf("an operation record has priority %d, want %d (never ahead of a fire alarm)", committed[0].Priority, outbox.PriorityTicket)
	}

	_, err = c.Control(ctx, api.ControlRequest{Device: "meter-1", Action: "reset"})
	if err == nil || !strings.Contains(err.Error(), "profile smart-meter-3p has no command registers") {
		t.Errorf("reset of a meter without a command register: %v", err)
	}
	_, err = c.Control(ctx, api.ControlRequest{Device: "nope", Action: "reset"})
	if err == nil || !strings.Contains(err.Error(), `no device "nope"`) {
		t.Errorf("unknown device: %v", err)
	}

	// A device that does not answer: the write fails, and the attempt is
	// recorded all the same.
	res, err = c.Control(ctx, api.ControlRequest{Device: "gone-1", Action: "reset"})
	if err != nil || res.Result != "failed" || res.Error == "" || res.Seq == 0 {
		t.Fatalf("reset of a silent device: %+v, %v", res, err)
	}
	<-done
	if tk := decodeNoSchema(t, committed[1].Payload); tk.Operation.Result != "failed" || tk.Operation.Error == "" {
		t.Errorf("failed operation record: %+v", tk.Operation)
	}
}
