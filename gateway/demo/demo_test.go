package demo

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
)

// TestDemoScenario plays the whole demo (about 40 s) and checks what
// `make demo` promises: every step happens, each hazard opens and clears
// once, and nothing committed is lost.
func TestDemoScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo scenario takes about 40 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	v := mqtttest.NewValidator(t)
	var mu sync.Mutex
	validated := 0
	check := func(topic string, payload []byte) {
		if err := v.Check(payload); err != nil {
			t.Errorf("%s: payload not valid against docs/ticket.schema.json: %v\n%s", topic, err, payload)
		}
		mu.Lock()
		validated++
		mu.Unlock()
	}
	res, err := Run(ctx, Options{Out: &out, Version: "test", OnMessage: check})
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	// 4 hazards (kitchen smoke, residual current, dorm offline, dorm smoke),
	// each exactly one open and one clear.
	if res.Raised != 8 || res.Delivered != 8 || res.Lost != 0 {
		t.Fatalf("raised %d delivered %d lost %d, want 8 8 0\n%s", res.Raised, res.Delivered, res.Lost, out.String())
	}
	for _, step := range []string{"smoke alarm", "residual current noise", "device offline", "uplink outage"} {
		if _, ok := res.Latency[step]; !ok {
			t.Errorf("no latency recorded for step %q", step)
		}
	}
	mu.Lock()
	if validated < res.Delivered {
		t.Errorf("only %d messages validated, %d tickets delivered", validated, res.Delivered)
	}
	mu.Unlock()
	text := out.String()
	if res.TelemetryRaised == 0 || res.TelemetryReceived == 0 {
		t.Errorf("telemetry raised %d, received %d: want at least one snapshot", res.TelemetryRaised, res.TelemetryReceived)
	}
	for _, want := range []string{"烟感火警", "剩余电流报警", "设备离线", "buffered", "lost 0",
		"telemetry (interval)", "residual_current=80 mA", "telemetry: "} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q\n%s", want, text)
		}
	}
}
