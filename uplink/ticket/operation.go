package ticket

import (
	"fmt"
	"time"
)

// StateOperation is the state of an operation record: something done to a
// device or to the gateway (a reset, a mute, a self-test command, a config
// applied), kept in seq with the tickets (GB/T 45839 5.9.2 operation log)
// and never coded as an alarm.
const StateOperation = "operation"

// KindOperation is the kind of an operation record.
const KindOperation = "operation"

// HazardOperation is the hazard code of an operation record on a device.
const HazardOperation = "device_operation"

// NoticeOperation is the notice type of an operation record: not one of
// GB/T 45839 5.10.4's notification types, so a platform that files by
// notice type never files it as an alarm or a fault.
const NoticeOperation = "操作信息"

// Operation sources.
const (
	SourceLocal  = "local"  // fenghuo diag control on the gateway
	SourceRemote = "remote" // a downlink control command from the platform
)

// Operation results.
const (
	ResultOK     = "ok"
	ResultFailed = "failed"
)

// Operation is what an operation record says was done.
type Operation struct {
	Action string `json:"action"` // reset | mute | self-test | config
	Source string `json:"source"` // local | remote
	By     string `json:"by"`     // who asked (a name, never a phone number)
	Result string `json:"result"` // ok | failed
	Error  string `json:"error,omitempty"`
	// Point, Address and Value are the register written.
	Point   string  `json:"point"`
	Address int     `json:"address"`
	Value   float64 `json:"value"`
}

// actionLabels name each action in Chinese and English.
var actionLabels = map[string]Label{
	"reset":      {Zh: "复位", En: "Reset"},
	"mute":       {Zh: "消音", En: "Mute"},
	"self-test":  {Zh: "自检", En: "Self-test"},
	ActionConfig: {Zh: "远程配置", En: "Remote config"},
}

// ActionConfig is the action of an operation record on the gateway: a
// config pushed by the platform (downlink config), refused, applied,
// confirmed or rolled back (Operation.Result and Error say which).
const ActionConfig = "config"

// OperationRecord builds the ticket event of an operation on dev at `at`:
// state operation, kind operation, level 4, its own ticket_id
// (<gateway>/<device>/op-<UTC time>), rule "OP". status is the device's
// GB/T 45839 state, which an operation does not change.
func OperationRecord(op Operation, gw Gateway, dev Device, status int, at time.Time) Ticket {
	l, ok := actionLabels[op.Action]
	if !ok {
		l = Label{Zh: op.Action, En: op.Action}
	}
	if dev.NetType == "" {
		dev.NetType = "00"
	}
	return Ticket{
		Schema:          Schema,
		EventID:         NewEventID(time.Now()),
		TicketID:        fmt.Sprintf("%s/%s/op-%s", gw.ID, dev.ID, at.UTC().Format("20060102T150405.000")),
		State:           StateOperation,
		Hazard:          HazardOperation,
		Label:           Label{Zh: "设备操作：" + l.Zh, En: "Device operation: " + l.En},
		Category:        "device",
		Kind:            KindOperation,
		Level:           4,
		LevelZh:         "四级",
		GradeZh:         "",
		NoticeTypeZh:    NoticeOperation,
		GBT45839Status:  status,
		Rule:            "OP",
		OccurrenceCount: 1,
		OccurredAt:      FormatTime(at),
		Gateway:         gw,
		Device:          dev,
		Operation:       &op,
	}
}
