package config

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestGapValues: left out is t3.5 (0), "minimal" and negative durations
// are GapMinimal, a duration is itself; each prints and loads back.
func TestGapValues(t *testing.T) {
	text := strings.Replace(minimal, "parity: E}", "parity: E}\n  - {name: b2, type: rtu, port: /dev/ttyS2, gap: minimal}\n"+
		"  - {name: b3, type: rtu, port: /dev/ttyS3, gap: -1ms}\n  - {name: b4, type: rtu-over-tcp, address: \"10.0.0.7:4001\", gap: 20ms}", 1)
	c := mustParse(t, text)
	want := []Gap{0, 0, GapMinimal, GapMinimal, Gap(20 * time.Millisecond)}
	for i, w := range want {
		if c.Buses[i].Gap != w {
			t.Errorf("buses[%d].gap = %v, want %v", i, c.Buses[i].Gap, w)
		}
	}
	var b bytes.Buffer
	if err := c.Print(&b); err != nil {
		t.Fatal(err)
	}
	back, err := Parse(b.Bytes())
	if err != nil {
		t.Fatalf("printed config does not load:\n%s\n%s", problemText(err), b.String())
	}
	for i, w := range want {
		if back.Buses[i].Gap != w {
			t.Errorf("printed buses[%d].gap = %v, want %v", i, back.Buses[i].Gap, w)
		}
	}
	if !strings.Contains(b.String(), "gap: minimal") || !strings.Contains(b.String(), "gap: 20ms") {
		t.Errorf("print shows:\n%s", b.String())
	}
}
