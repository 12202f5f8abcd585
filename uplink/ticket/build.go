package ticket

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
)

// HazardMeta is the catalog entry of a hazard code, as the builder needs
// it. It is passed in (rather than looked up) so that this package depends
// on rules only for the Event type.
type HazardMeta struct {
	Code     string // "smoke_fire_alarm"
	Zh, En   string // 烟感火警, Smoke fire alarm
	Kind     string // alarm | hazard | fault
	Category string // smoke | electrical | device | gateway
	// SuggestionZh is an optional disposal hint copied into suggestion_zh.
	SuggestionZh string
}

// SiteZone is the UTC offset used for ticket times when the event time
// carries no zone of its own (UTC): China Standard Time, +08:00.
var SiteZone = time.FixedZone("CST", 8*3600)

// TimeLayout is RFC 3339 with milliseconds, as every ticket time is written.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// FormatTime writes t in [TimeLayout]. A time at UTC — time.UTC, or the
// local zone of a host set to UTC, as most images are — is shown at
// [SiteZone]; any other zone is kept, so a gateway whose clock runs at
// +08:00 writes "+08:00".
func FormatTime(t time.Time) string {
	if _, offset := t.Zone(); offset == 0 {
		t = t.In(SiteZone)
	}
	return t.Format(TimeLayout)
}

// FromEvent builds the ticket for one rule event. The result has no seq,
// published_at or buffered yet: [Stamp] fills them when it is published.
// ticket_id is the engine's episode id prefixed with the gateway id
// ("gw-…/device/R7/20261129T081502"), see [TicketID]. For an event of the
// gateway itself (R25), dev is [GatewayDevice].
func FromEvent(ev rules.Event, info HazardMeta, gw Gateway, dev Device) Ticket {
	state := ev.Kind.String()
	evidence := ev.Evidence
	if dev.NetType == "" {
		dev.NetType = "00"
	}
	hazard := ev.Hazard
	if hazard == "" {
		hazard = info.Code
	}
	return Ticket{
		Schema:          Schema,
		EventID:         NewEventID(time.Now()),
		TicketID:        TicketID(gw.ID, ev.Device, ev.TicketID),
		State:           state,
		Hazard:          hazard,
		Label:           Label{Zh: info.Zh, En: info.En},
		Category:        info.Category,
		Kind:            info.Kind,
		Level:           ev.Level,
		LevelZh:         rules.LevelZh(ev.Level),
		GradeZh:         rules.GradeZh(ev.Level),
		NoticeTypeZh:    NoticeTypeZh(info.Kind, state),
		GBT45839Status:  GBT45839Status(info.Kind, state),
		Rule:            ev.Rule,
		OccurrenceCount: max(ev.OccurrenceCount, 1),
		OccurredAt:      FormatTime(ev.At),
		Gateway:         gw,
		Device:          dev,
		Evidence:        &evidence,
		SuggestionZh:    info.SuggestionZh,
	}
}

// TicketID is the published ticket id of an episode of device: the rule
// engine's id ("<device>/<rule>/<opened>") prefixed with the gateway id.
// An id restored from the outbox after a restart already carries the
// prefix ("<gateway>/<device>/<rule>/<opened>") and is kept as is. The
// device tells the two apart when it is the gateway itself: "gw-1/R25/…"
// is an engine id, "gw-1/gw-1/R25/…" a published one.
func TicketID(gateway, device, episode string) string {
	prefix := gateway + "/" + device + "/"
	if device == "" {
		prefix = gateway + "/"
	}
	if gateway == "" || episode == "" || strings.HasPrefix(episode, prefix) {
		return episode
	}
	return gateway + "/" + episode
}

// GatewayProfile is the profile of the device block of a ticket about the
// gateway itself ([GatewayDevice]); no profile file has this name.
const GatewayProfile = "gateway"

// GatewayDevice is the device block of a ticket about the gateway itself
// (R25 uplink_transmission_fault, category gateway): the device is the
// gateway. Its id is the gateway id (config device ids may not take it),
// its category_zh 收发装置, GB/T 45839's name for a gateway that collects
// and forwards (3.7); component type 0, as it is not a GB/T 26875.3 fire
// component; wired; on no bus (bus "", slave 0).
func GatewayDevice(gw Gateway) Device {
	return Device{
		ID: gw.ID, Name: "烽火网关 fenghuo gateway", Profile: GatewayProfile, Vendor: "fenghuo", Model: "fenghuo",
		CategoryZh: "收发装置", NetType: "00",
	}
}

// GBT45839Status maps a kind and state to the GB/T 45839 Annex D status:
// 1 正常监视 for a clear, 3 故障 for a fault, 2 报警 otherwise.
func GBT45839Status(kind, state string) int {
	switch {
	case state == StateClear:
		return 1
	case kind == KindFault:
		return 3
	default:
		return 2
	}
}

// NoticeTypeZh is the GB/T 45839 5.10.4 notice type: 火灾报警信息 or 故障信息
// for open, escalate, test and dropped; 火警解除信息 or 故障恢复信息 for a clear.
func NoticeTypeZh(kind, state string) string {
	fault := kind == KindFault
	switch {
	case state == StateClear && fault:
		return "故障恢复信息"
	case state == StateClear:
		return "火警解除信息"
	case fault:
		return "故障信息"
	default:
		return "火灾报警信息"
	}
}

// marshal encodes v without HTML escaping and without a trailing newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
