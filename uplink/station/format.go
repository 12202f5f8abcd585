package station

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// TicketLine is the readable form of a ticket, e.g.
//
//	08:15:02 [一级] 烟感火警 Smoke fire alarm · open · 云村文化礼堂 · 一楼厨房烟感 (一楼厨房) · status=0x0002 · seq 12
//	08:16:40 [二级] 剩余电流报警 Residual current alarm · open · 云村文化礼堂 · 总配电箱 (一楼配电间) · residual_current=316.7 mA (threshold 300 mA) · seq 13
//
// The time is occurred_at in the site's own offset. The evidence value is
// rounded to 4 significant digits; a device status word (a bit field) is
// shown in hex. The GB/T 45839 status code is left out: state says the
// same in words, and --json prints the whole message. Every field comes
// from the network: the line goes through sanitize.Line, so no escape
// sequence or control in a name or label reaches the terminal.
func TicketLine(t ticket.Ticket) string {
	parts := []string{
		fmt.Sprintf("%s [%s] %s %s", clock(t.OccurredAt), t.LevelZh, t.Label.Zh, t.Label.En),
		stateWord(t.State),
		t.Gateway.Site.Name,
		device(t.Device),
	}
	if ev := evidence(t); ev != "" {
		parts = append(parts, ev)
	}
	parts = append(parts, fmt.Sprintf("seq %d", t.Seq))
	if t.Buffered {
		parts = append(parts, "buffered")
	}
	return sanitize.Line(strings.Join(parts, " · "))
}

// stateWord is a ticket's state as the line shows it: a test reads 测试
// test, so that nobody on duty takes it for a fire (GB/T 45839 5.8.4).
func stateWord(state string) string {
	if state == ticket.StateTest {
		return "测试 test"
	}
	return state
}

// StatusLine is the readable form of a gateway status that arrived at rx;
// retained says the broker delivered it from its store, so it may be old.
// The time shown is rx, not the status's `at`: the `at` of an offline last
// will is when the lost connection was opened, possibly days ago, and must
// not be read as the time of the outage. rx is shown at the UTC offset of
// that `at` (the site's, like every ticket time on the same screen), so a
// station on a UTC host does not mix two clocks 8 h apart. Like
// [TicketLine], the line goes through sanitize.Line.
func StatusLine(s ticket.Status, rx time.Time, retained bool) string {
	return sanitize.Line(statusLine(s, rx, retained))
}

func statusLine(s ticket.Status, rx time.Time, retained bool) string {
	now := rx.In(zoneOf(s.At, rx.Location())).Format("15:04:05")
	if s.State == ticket.StatusOffline {
		if retained {
			return fmt.Sprintf("%s gateway %s OFFLINE (retained: already offline when this station subscribed)", now, s.Gateway)
		}
		return fmt.Sprintf("%s gateway %s OFFLINE (connection lost: last will; or the gateway stopped)", now, s.Gateway)
	}
	line := fmt.Sprintf("%s gateway %s online · %s · devices %d/%d · buffer %d (oldest %.0f s)",
		now, s.Gateway, s.Version, s.DevicesOnline, s.DevicesTotal, s.BufferDepth, s.OldestUnsentAgeS)
	if retained {
		line += fmt.Sprintf(" · retained, sent %s", clock(s.At))
	}
	return line
}

func device(d ticket.Device) string {
	name := d.Name
	if name == "" {
		name = d.ID
	}
	if d.Location != "" {
		name += " (" + d.Location + ")"
	}
	return name
}

func evidence(t ticket.Ticket) string {
	e := t.Evidence
	if e == nil || e.Value == nil {
		return ""
	}
	if bitWord(e.Point, e.Unit, *e.Value) {
		return fmt.Sprintf("%s=0x%04X", e.Point, uint16(*e.Value))
	}
	s := e.Point + "=" + withUnit(*e.Value, e.Unit)
	if e.Threshold != nil {
		s += " (threshold " + withUnit(*e.Threshold, e.Unit) + ")"
	}
	return s
}

func withUnit(v float64, unit string) string {
	if unit == "" {
		return compact(v)
	}
	return compact(v) + " " + unit
}

// bitWord reports whether a point is a device status word: a u16 bit field
// named "status" or "…_status" (the profiles' convention), without unit.
func bitWord(point, unit string, v float64) bool {
	return unit == "" && (point == "status" || strings.HasSuffix(point, "_status")) &&
		v == math.Trunc(v) && v >= 0 && v <= math.MaxUint16
}

// compact formats v with at most 4 significant digits (all integer
// digits are kept) and no trailing zeros: 316.7010803 → "316.7",
// 0.012345 → "0.01235", 1234.56 → "1235", 25.0 → "25".
func compact(v float64) string {
	if v == 0 {
		return "0"
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	decimals := max(0, 3-int(math.Floor(math.Log10(math.Abs(v)))))
	s := strconv.FormatFloat(v, 'f', min(decimals, 12), 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// zoneOf is the UTC offset of an RFC 3339 time, or def if ts is not one.
func zoneOf(ts string, def *time.Location) *time.Location {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return def
	}
	return t.Location()
}

// clock shows an RFC 3339 time as HH:MM:SS in its own offset.
func clock(ts string) string {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return "--:--:--"
	}
	return t.Format("15:04:05")
}

// ackCmd is the downlink acknowledgement.
type ackCmd struct {
	ID       string `json:"id"`
	Cmd      string `json:"cmd"`
	TicketID string `json:"ticket_id"`
	By       string `json:"by"`
}

func (a ackCmd) marshal() ([]byte, error) { return json.Marshal(a) }

// dedup remembers the last max event ids.
type dedup struct {
	max  int
	set  map[string]struct{}
	ring []string
	next int
}

func newDedup(max int) *dedup { return &dedup{max: max, set: map[string]struct{}{}} }

// add reports whether id is new, and remembers it.
func (d *dedup) add(id string) bool {
	if _, ok := d.set[id]; ok {
		return false
	}
	if len(d.ring) < d.max {
		d.ring = append(d.ring, id)
	} else {
		delete(d.set, d.ring[d.next])
		d.ring[d.next] = id
		d.next = (d.next + 1) % d.max
	}
	d.set[id] = struct{}{}
	return true
}

// TelemetryLine is the readable form of a telemetry message: the time,
// the gateway, then each device's values with their units; a value that is
// not good shows its quality instead (or after it, when stale).
func TelemetryLine(t ticket.Telemetry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s telemetry (%s) %s:", clock(t.At), t.Reason, t.Gateway.ID)
	for i, d := range t.Devices {
		if i > 0 {
			b.WriteString(" ·")
		}
		fmt.Fprintf(&b, " %s", d.ID)
		if !d.Online {
			b.WriteString(" (offline)")
		}
		for _, v := range t.Devices[i].Values {
			switch {
			case v.Value == nil:
				fmt.Fprintf(&b, " %s=%s", v.Point, v.Quality)
			case v.Quality == ticket.QualityStale:
				fmt.Fprintf(&b, " %s=%s (stale)", v.Point, withUnit(*v.Value, v.Unit))
			default:
				fmt.Fprintf(&b, " %s=%s", v.Point, withUnit(*v.Value, v.Unit))
			}
		}
	}
	return b.String()
}

// HealthLine is the readable form of a health report: the self-test's
// verdict, devices that answered in the period, storage and uplink.
func HealthLine(h ticket.Health) string {
	verdict := "self-test ok"
	if !h.SelfTest.OK {
		var bad []string
		for _, c := range []struct {
			name string
			ok   bool
		}{{"bus", h.SelfTest.Bus}, {"storage", h.SelfTest.Storage}, {"uplink", h.SelfTest.Uplink}} {
			if !c.ok {
				bad = append(bad, c.name)
			}
		}
		verdict = "SELF-TEST FAILED: " + strings.Join(bad, ", ")
	}
	answered := 0
	for _, d := range h.Devices {
		if d.PollsOK > 0 {
			answered++
		}
	}
	return fmt.Sprintf("%s health %s: %s · devices %d/%d answered in %s · storage %s free · config %s",
		clock(h.At), h.Gateway.ID, verdict, answered, len(h.Devices),
		(time.Duration(h.PeriodS) * time.Second).String(), bytesIEC(h.Storage.FreeBytes), h.ConfigHash)
}

// bytesIEC is n in KiB, MiB or GiB with one decimal.
func bytesIEC(n uint64) string {
	const k = 1024
	switch {
	case n >= k*k*k:
		return fmt.Sprintf("%.1f GiB", float64(n)/(k*k*k))
	case n >= k*k:
		return fmt.Sprintf("%.1f MiB", float64(n)/(k*k))
	case n >= k:
		return fmt.Sprintf("%.1f KiB", float64(n)/k)
	}
	return fmt.Sprintf("%d B", n)
}
