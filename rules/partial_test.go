package rules

import (
	"strings"
	"testing"
	"time"
)

// TestPartialPollsKeepEscalationRuns: the gateway reads the alarm word
// every second and the current every fifth second (read groups), so 4 of
// 5 polls carry the device's overcurrent bit and no current. Those polls
// must neither advance nor restart R13's 105 % escalation run: the episode
// opens on the bit and reaches level 2 after 60 s above 105 %, then clears
// on the 5 s polls once both are back to normal.
func TestPartialPollsKeepEscalationRuns(t *testing.T) {
	var current, flags []string
	for i := range 420 {
		switch {
		case i%5 != 0:
			current = append(current, "-")
		case i < 100:
			current = append(current, "70") // > 105 % of 63 A
		default:
			current = append(current, "50")
		}
		if i < 100 {
			flags = append(flags, "32") // bit5 overcurrent
		} else {
			flags = append(flags, "0")
		}
	}
	cols := map[string]string{"current": strings.Join(current, " "), "alarm_flags": strings.Join(flags, " ")}
	e := mustEngine(t, "efd-1", specR13)
	evs := runEach(e, series(t, "efd-1", base, time.Second, cols, map[string]float64{"rated_current": 63}))
	wantSummary(t, evs, "open R13 @0s", "clear R13 @100s")
	if evs[0].Level != 2 {
		t.Errorf("R13 opened at level %d, want 2 (above 105 %% for the whole 60 s confirm)", evs[0].Level)
	}
}
