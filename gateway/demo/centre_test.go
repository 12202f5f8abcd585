package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestDemoWithCentre plays the demo with the reference GB/T 26875.3
// centre as the second uplink (`fenghuo demo --gb26875`): every ticket
// reaches the station and every record the centre, the kitchen's fire
// alarm printed on both sides, and the alarm raised while the broker is
// cut reaches the centre meanwhile.
func TestDemoWithCentre(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo scenario takes about 45 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := Run(ctx, Options{Out: &out, Version: "test", GB26875: true})
	if err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	if res.Lost != 0 || res.Delivered != res.Raised || res.CentreBacklog != 0 {
		t.Fatalf("raised %d delivered %d lost %d, centre backlog %d\n%s", res.Raised, res.Delivered, res.Lost, res.CentreBacklog, out.String())
	}
	// the version frame, then one component state per ticket event
	if res.CentreFrames < 1+res.Raised {
		t.Errorf("the centre received %d frames for %d events", res.CentreFrames, res.Raised)
	}
	text := out.String()
	for _, want := range []string{
		"119 centre ◀ ", `normal+fire "一楼厨房烟感"`, `normal+fire "二楼宿舍烟感"`, "烟感火警 Smoke fire alarm · open",
		"register change → frame at the centre", "undelivered to the centre at the end: 0",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if _, ok := res.CentreLatency["smoke alarm"]; !ok {
		t.Errorf("no centre latency for the smoke alarm: %v", res.CentreLatency)
	}
}
