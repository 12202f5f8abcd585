package station_test

import (
	"strings"
	"testing"

	"github.com/fenghuo-iot/fenghuo/uplink/station"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

func TestTelemetryLine(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	msg := ticket.Telemetry{
		Schema: ticket.TelemetrySchema, Gateway: ticket.TelemetryGateway{ID: gw},
		At: "2026-12-04T08:15:02.314+08:00", Reason: ticket.TelemetryInterval,
		Devices: []ticket.TelemetryDevice{
			{ID: "efd-1f-main", Online: true, Values: []ticket.TelemetryValue{
				{Point: "residual_current", Value: f(316.7010803), Unit: "mA", Quality: ticket.QualityGood},
				{Point: "t3", Unit: "°C", Quality: ticket.QualityAbsent},
			}},
			{ID: "meter-main", Online: false, Values: []ticket.TelemetryValue{
				{Point: "ua", Value: f(229.5), Unit: "V", Quality: ticket.QualityStale},
			}},
		},
	}
	want := "08:15:02 telemetry (interval) " + gw + ": efd-1f-main residual_current=316.7 mA t3=absent · meter-main (offline) ua=229.5 V (stale)"
	if got := station.TelemetryLine(msg); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}

	// Without Options.Telemetry the watcher does not subscribe; a message
	// that arrives anyway is parsed, counted and printed once.
	var out syncBuf
	w := station.NewWatcher(station.Options{Out: &out})
	if strings.Contains(strings.Join(w.Topics(), " "), "telemetry") {
		t.Errorf("telemetry subscribed without Options.Telemetry: %v", w.Topics())
	}
	payload, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	w.Handle(topics.Telemetry(), payload)
	w.Handle(topics.Telemetry(), []byte(`{"schema":"fenghuo.ticket.v1"}`))
	if c := w.Counters(); c.Telemetry != 1 || c.Invalid != 1 {
		t.Fatalf("counters %+v, want 1 telemetry and 1 invalid", c)
	}
	if !strings.Contains(out.String(), want) {
		t.Fatalf("output:\n%s", out.String())
	}
	w = station.NewWatcher(station.Options{Telemetry: true})
	if !strings.Contains(strings.Join(w.Topics(), " "), "/+/telemetry") {
		t.Errorf("Options.Telemetry: topics %v lack P/T/+/telemetry", w.Topics())
	}
}

// A health report on the telemetry topic is told apart by its schema.
func TestHealthOnTelemetryTopic(t *testing.T) {
	var out syncBuf
	w := station.NewWatcher(station.Options{Out: &out, Telemetry: true})
	h := ticket.Health{Schema: ticket.HealthSchema, Gateway: ticket.HealthGateway{ID: gw}, At: "2026-12-04T08:15:02.314+08:00",
		PeriodS: 86400, ConfigHash: "3f9a0c12d4e5b678",
		Devices:  []ticket.HealthDevice{{ID: "a", PollsOK: 3, Polls: 3}, {ID: "b", Polls: 3}},
		Storage:  ticket.HealthStorage{FreeBytes: 5 << 30, WriteOK: true},
		SelfTest: ticket.SelfTest{Bus: false, Storage: true, Uplink: true}}
	payload, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	w.Handle(topics.Telemetry(), payload)
	want := "08:15:02 health " + gw + ": SELF-TEST FAILED: bus · devices 1/2 answered in 24h0m0s · storage 5.0 GiB free · config 3f9a0c12d4e5b678"
	if c := w.Counters(); c.Health != 1 || c.Telemetry != 0 || c.Invalid != 0 || !strings.Contains(out.String(), want) {
		t.Fatalf("counters %+v, output:\n%s\nwant %s", c, out.String(), want)
	}
}
