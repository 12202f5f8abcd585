package diagview

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// This file holds how single values look in a cell or a line: ages,
// clock times, numbers, levels.

// Age is a short duration for tables: 0.3s, 12s, 3m12s, 2h03m, 3d04h.
func Age(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

// seconds is an age given in (fractional) seconds, as the API sends them.
func seconds(s float64) string { return Age(time.Duration(s * float64(time.Second))) }

// ago is "12s ago", or "never" for a zero time.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return Age(now.Sub(t)) + " ago"
}

// Clock is a time as the gateway's wall clock shows it, "—" for none.
func Clock(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(loc).Format("2006-01-02 15:04:05")
}

// short is a duration for a progress line: 12ms, 1.3s.
func short(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

// latency is a round trip in milliseconds, "—" for none.
func latency(ms float64) string {
	if ms <= 0 {
		return "—"
	}
	if ms < 10 {
		return fmt.Sprintf("%.1fms", ms)
	}
	return fmt.Sprintf("%.0fms", ms)
}

// number prints a value without trailing zeros (22.5, 3, 0.015).
func number(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}

func optNumber(v *float64) string {
	if v == nil {
		return "—"
	}
	return number(*v)
}

// float32Text prints a float32 value with its 7 significant digits; NaN
// and infinities by name.
func float32Text(f api.Float) string {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', 7, 32)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// levelName is "1 一级", "—" for no level.
func levelName(level int) string {
	if zh := rules.LevelZh(level); zh != "" {
		return fmt.Sprintf("%d %s", level, zh)
	}
	return "—"
}

// Plural is word, with an s unless n is 1.
func Plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
