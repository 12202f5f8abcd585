package config

import (
	"fmt"
	"strings"
	"testing"
)

// thirtyTwoDetectors is one 9600-baud line with 32 smoke detectors: the
// installer's question of issue 13 (can each be read every second?).
func thirtyTwoDetectors(baud int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `gateway:
  id: gw-budget-01
  site: {name: 云村文化礼堂, township_code: "330502103"}
buses:
  - {name: rs485-1, type: rtu, port: /dev/ttyS1, baud: %d}
  - {name: lan, type: tcp, address: 127.0.0.1:502}
uplink:
  mqtt: {broker: tcp://127.0.0.1:1883}
devices:
`, baud)
	for i := 1; i <= 32; i++ {
		fmt.Fprintf(&b, "  - {id: smoke-%02d, name: 烟感%d, bus: rs485-1, slave: %d, profile: smoke-detector}\n", i, i, i)
	}
	b.WriteString("  - {id: meter-1, name: 电表, bus: lan, slave: 1, profile: smart-meter-3p}\n")
	return b.String()
}

func TestLineBudgetOfThirtyTwoDetectors(t *testing.T) {
	c, err := Parse([]byte(thirtyTwoDetectors(9600)))
	if err != nil {
		t.Fatal(err)
	}
	buds, err := c.LineBudgets()
	if err != nil {
		t.Fatal(err)
	}
	if len(buds) != 1 || buds[0].Line.Name != "rs485-1" {
		t.Fatalf("want the one rtu line budgeted, got %d", len(buds))
	}
	b := buds[0]
	devices := map[string]bool{}
	for _, c := range b.Costs {
		devices[c.Device] = true
		if c.Device == "meter-1" {
			t.Fatal("a Modbus TCP device was put on the serial line")
		}
	}
	if len(devices) != 32 || !b.Over() {
		t.Fatalf("%d devices, load %.2f: 32 detectors at 9600 baud must be over %.0f%%", len(devices), b.Load, 100*0.8)
	}
	rep := strings.Join(b.Report(), "\n")
	for _, w := range []string{"line rs485-1: ", "load ", "9600 baud", "warning: line rs485-1 is loaded above 80%", "  smoke-01 … smoke-32 (32 devices): 1s → "} {
		if !strings.Contains(rep, w) {
			t.Errorf("report lacks %q:\n%s", w, rep)
		}
	}

	// The same detectors at 38400 baud fit: no warning.
	c, err = Parse([]byte(thirtyTwoDetectors(38400)))
	if err != nil {
		t.Fatal(err)
	}
	if buds, err = c.LineBudgets(); err != nil || buds[0].Over() {
		t.Fatalf("38400 baud: load %.2f err %v", buds[0].Load, err)
	}
	if rep := buds[0].Report(); len(rep) != 1 {
		t.Fatalf("a line within budget prints one line, got %q", rep)
	}
}
