package station

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// TicketLine is the readable form of a ticket, e.g.
//
//	08:15:02 [一级] 烟感火警 Smoke fire alarm · open · 云村文化礼堂 · 一楼厨房烟感 (一楼厨房) · alarm=1 · status=2 · seq 12
//
// The time is occurred_at in the site's own offset.
func TicketLine(t ticket.Ticket) string {
	parts := []string{
		fmt.Sprintf("%s [%s] %s %s", clock(t.OccurredAt), t.LevelZh, t.Label.Zh, t.Label.En),
		t.State,
		t.Gateway.Site.Name,
		device(t.Device),
	}
	if ev := evidence(t); ev != "" {
		parts = append(parts, ev)
	}
	parts = append(parts, fmt.Sprintf("status=%d", t.GBT45839Status), fmt.Sprintf("seq %d", t.Seq))
	if t.Buffered {
		parts = append(parts, "buffered")
	}
	return strings.Join(parts, " · ")
}

// StatusLine is the readable form of a gateway status.
func StatusLine(s ticket.Status) string {
	if s.State == ticket.StatusOffline {
		return fmt.Sprintf("%s gateway %s OFFLINE", clock(s.At), s.Gateway)
	}
	return fmt.Sprintf("%s gateway %s online · %s · devices %d/%d · buffer %d (oldest %.0f s)",
		clock(s.At), s.Gateway, s.Version, s.DevicesOnline, s.DevicesTotal, s.BufferDepth, s.OldestUnsentAgeS)
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
	s := e.Point + "=" + strconv.FormatFloat(*e.Value, 'f', -1, 64)
	if e.Unit != "" {
		s += " " + e.Unit
	}
	return s
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
