package daemon

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/engine"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// TestHealthReport: after a few polls (one device silent, no broker), the
// health report validates, counts each device's answers over the period,
// checks the storage for real, and the self-test fails on the uplink only;
// the self-test goes out as a `test` event of the gateway, never an alarm.
func TestHealthReport(t *testing.T) {
	cfgText, _ := controlSite(t) // control_test.go: smoke-1 and meter-1 answer, gone-1 never does
	d, stop := runDaemon(t, cfgText, Options{})
	waitFor(t, 10*time.Second, "polls of every device", func() bool {
		smoke, _ := d.loop.Devices().View("smoke-1")
		meter, _ := d.loop.Devices().View("meter-1")
		gone, _ := d.loop.Devices().View("gone-1")
		return smoke.OK > 0 && meter.OK > 0 && gone.Failed > 0
	})
	stop() // the rule loop owns its health report: step it here once it has stopped

	now := time.Now()
	if recs := d.loop.HealthRecords(now); recs != nil {
		t.Fatalf("a health report before it is due: %d records", len(recs))
	}
	recs := d.loop.HealthRecords(now.Add(engine.FirstHealthAfter))
	if len(recs) != 2 || recs[0].Priority != outbox.PriorityTelemetry || recs[1].State != "test" {
		t.Fatalf("want the report (telemetry priority) and a test event, got %+v", recs)
	}
	v := mqtttest.NewValidator(t)
	v.ValidateHealth(t, recs[0].Payload)
	h, err := ticket.ParseHealth(recs[0].Payload)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]ticket.HealthDevice{}
	for _, hd := range h.Devices {
		byID[hd.ID] = hd
	}
	if s := byID["smoke-1"]; s.SuccessRate == nil || *s.SuccessRate != 1 || s.LastOKAt == "" || s.BatteryPct != nil {
		t.Errorf("smoke-1 (mains powered: battery absent): %+v", s)
	}
	if g := byID["gone-1"]; g.SuccessRate == nil || *g.SuccessRate != 0 || g.Online || g.LastOKAt != "" {
		t.Errorf("gone-1 (never answers): %+v", g)
	}
	if !h.Storage.WriteOK || h.Storage.FreeBytes == 0 || h.Storage.Path != filepath.Dir(d.cfg.Buffer.Path) {
		t.Errorf("storage: %+v", h.Storage)
	}
	if st := h.SelfTest; st.OK || !st.Bus || !st.Storage || st.Uplink {
		t.Errorf("self-test without a broker: %+v, want only the uplink failing", st)
	}
	if len(h.ConfigHash) != 16 || h.ConfigHash != d.cfg.Hash() {
		t.Errorf("config_hash %q, want %q", h.ConfigHash, d.cfg.Hash())
	}
	stamped, err := ticket.Stamp(recs[1].Payload, 7, now, false)
	if err != nil {
		t.Fatal(err)
	}
	v.ValidateTicket(t, stamped)
	tk := decodeNoSchema(t, stamped)
	if tk.Hazard != "gateway_self_test" || tk.Device.ID != d.cfg.Gateway.ID || tk.Evidence == nil || *tk.Evidence.Value != 0 {
		t.Errorf("self-test event: %+v", tk)
	}

	// The status heartbeat carries the bus error counters and the hash.
	st := d.status()
	payload, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	v.ValidateStatus(t, payload)
	if be := st.BusErrors["lan"]; be.Timeouts == 0 || be.Requests <= be.Timeouts || st.ConfigHash != h.ConfigHash {
		t.Errorf("status bus_errors %+v, config_hash %q", st.BusErrors, st.ConfigHash)
	}

	// The next report covers only what happened since this one.
	recs = d.loop.HealthRecords(now.Add(engine.FirstHealthAfter + d.cfg.Uplink.HealthInterval))
	h, _ = ticket.ParseHealth(recs[0].Payload)
	for _, hd := range h.Devices {
		if hd.Polls != 0 || hd.SuccessRate != nil {
			t.Errorf("%s: %d polls in a period without polls", hd.ID, hd.Polls)
		}
	}
}
