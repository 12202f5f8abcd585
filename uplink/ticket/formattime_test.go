package ticket

import (
	"testing"
	"time"
)

// TestFormatTimeAtUTC: a host whose local zone is UTC gives times in a zone
// that is not time.UTC but has offset 0; they are written at +08:00 like
// UTC ones, never with "Z". Other zones are kept.
func TestFormatTimeAtUTC(t *testing.T) {
	hostUTC := time.FixedZone("UTC", 0) // what time.Local is on such a host
	for _, tc := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 11, 29, 1, 2, 3, 4e6, time.UTC), "2026-11-29T09:02:03.004+08:00"},
		{time.Date(2026, 11, 29, 1, 2, 3, 4e6, hostUTC), "2026-11-29T09:02:03.004+08:00"},
		{time.Date(2026, 11, 29, 9, 2, 3, 4e6, time.FixedZone("CST", 8*3600)), "2026-11-29T09:02:03.004+08:00"},
		{time.Date(2026, 11, 29, 2, 2, 3, 4e6, time.FixedZone("CET", 3600)), "2026-11-29T02:02:03.004+01:00"},
	} {
		if got := FormatTime(tc.in); got != tc.want {
			t.Errorf("FormatTime(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
