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
	// Condition is what an open episode of the hazard says of its device
	// (rules.HazardInfo.Condition); zero: derived from Kind.
	Condition rules.Condition
}

// condition is m's Condition, or the one its Kind implies.
func (m HazardMeta) condition() rules.Condition {
	switch {
	case m.Condition != rules.ConditionNormal:
		return m.Condition
	case m.Kind == KindFault:
		return rules.ConditionFault
	default:
		return rules.ConditionAlarm
	}
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
// ("gw-…/device/R7/20261129T081502.250"), see [TicketID]. For an event of
// the gateway itself (R25), dev is [GatewayDevice].
//
// The GB/T 45839 coding ([Coding]) takes the device's state after the
// event from ev.After; gb26875_component_type is the hazard's
// (ev.ComponentType) where it has one, else the device's.
func FromEvent(ev rules.Event, info HazardMeta, gw Gateway, dev Device) Ticket {
	state := ev.Kind.String()
	if dev.NetType == "" {
		dev.NetType = "00"
	}
	if ev.ComponentType != 0 {
		dev.GB26875ComponentType = ev.ComponentType
	}
	hazard := ev.Hazard
	if hazard == "" {
		hazard = info.Code
	}
	status, notice := Coding(info.condition(), state, ev.After)
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
		NoticeTypeZh:    notice,
		GBT45839Status:  status,
		Rule:            ev.Rule,
		OccurrenceCount: max(ev.OccurrenceCount, 1),
		OccurredAt:      FormatTime(ev.At),
		Gateway:         gw,
		Device:          dev,
		Evidence:        evidenceOf(ev.Evidence),
		SuggestionZh:    info.SuggestionZh,
	}
}

// Notice types (notice_type_zh). The first four are GB/T 45839 5.10.4's;
// test information is kept apart from them as 5.8.4 requires, and 屏蔽
// (GB/T 45839 Annex D status 4; GB/T 26875.3 component status bit3) has
// its own pair, as 5.10.4 names none for it (docs/tickets.md §2.1).
const (
	NoticeFire          = "火灾报警信息"
	NoticeFault         = "故障信息"
	NoticeFireCleared   = "火警解除信息"
	NoticeFaultCleared  = "故障恢复信息"
	NoticeTest          = "测试信息"
	NoticeDisabled      = "屏蔽信息"
	NoticeDisabledEnded = "屏蔽解除信息"
)

// Coding is the GB/T 45839 coding of an event of a hazard whose open
// episodes put their device in condition cond, in state, with the device
// in condition after once the event has happened:
//
//   - gbt45839_status is the device's state after the event (Annex D:
//     2 报警 > 3 故障 > 4 屏蔽 > 1 正常监视); an open or escalate is at
//     least its own condition. A test is never 2: it is the device's
//     fault or 屏蔽 state if one is open, else 1 (an alarm open on the
//     device is stated by that alarm's own events, never by a test's).
//   - notice_type_zh is the event's own notice: 火灾报警信息, 故障信息 or
//     屏蔽信息 when an episode opens or escalates; 火警解除信息, 故障恢复信息
//     or 屏蔽解除信息 when it clears; 测试信息 for a test.
//
// A tombstone keeps the coding of the event it replaces ([Tombstone]).
func Coding(cond rules.Condition, state string, after rules.Condition) (status int, notice string) {
	switch state {
	case StateTest:
		if after == rules.ConditionAlarm {
			after = rules.ConditionNormal
		}
		return after.GBT45839Status(), NoticeTest
	case StateClear:
		switch cond {
		case rules.ConditionFault:
			notice = NoticeFaultCleared
		case rules.ConditionDisabled:
			notice = NoticeDisabledEnded
		default:
			notice = NoticeFireCleared
		}
		return after.GBT45839Status(), notice
	}
	switch cond {
	case rules.ConditionFault:
		notice = NoticeFault
	case rules.ConditionDisabled:
		notice = NoticeDisabled
	default:
		notice = NoticeFire
	}
	return max(after, cond).GBT45839Status(), notice
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

// GBT45839Status is the GB/T 45839 Annex D status of an event of kind in
// state on a device with nothing else open ([Coding] with the device's
// state): 2 报警 for an alarm or hazard, 3 故障 for a fault, 1 正常监视 for a
// clear or a test.
func GBT45839Status(kind, state string) int {
	status, _ := Coding(HazardMeta{Kind: kind}.condition(), state, rules.ConditionNormal)
	return status
}

// NoticeTypeZh is the notice_type_zh of an event of kind in state
// ([Coding]).
func NoticeTypeZh(kind, state string) string {
	_, notice := Coding(HazardMeta{Kind: kind}.condition(), state, rules.ConditionNormal)
	return notice
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
