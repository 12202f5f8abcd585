package localapi

import (
	"strings"
	"testing"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// TestStatusOf: the GB/T 45839 state of a device from the kinds of its
// open hazards (--direct control, no rule engine).
func TestStatusOf(t *testing.T) {
	for _, c := range []struct {
		kinds []string
		want  int
	}{
		{nil, 1},
		{[]string{ticket.KindFault}, 3},
		{[]string{ticket.KindFault, rules.KindAlarm}, 2},
		{[]string{rules.KindHazard}, 2},
	} {
		if got := StatusOf(c.kinds); got != c.want {
			t.Errorf("StatusOf(%v) = %d, want %d", c.kinds, got, c.want)
		}
	}
}

// TestCleanBy: who asked is one short terminal-safe line.
func TestCleanBy(t *testing.T) {
	long := strings.Repeat("值", maxBy)
	for in, want := range map[string]string{
		"":                      "unknown",
		"  张三 ":                 "张三",
		"ops\x1b[31mred\x1b[0m": "opsred",
		long:                    strings.Repeat("值", maxBy/3),
	} {
		if got := cleanBy(in); got != want {
			t.Errorf("cleanBy(%q) = %q, want %q", in, got, want)
		}
	}
}
