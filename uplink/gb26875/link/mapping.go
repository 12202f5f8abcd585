package link

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// Bounds of the state the mapper keeps.
const (
	maxDevices       = 4096 // devices tracked for their open episodes
	maxOpenPerDevice = 64   // open episodes tracked per device
	maxComponents    = 4096 // last component states kept for query 62
	maxOpRecords     = 64   // operation records kept for queries 64 and 84
)

// fireSystem is the system every component is reported under: 1 火灾报警系统,
// address 1 (the 2011 edition has no electrical-fire system type;
// docs/gb26875.md §6).
var fireSystem = gb26875.System{Type: gb26875.SystemFireAlarm, Addr: 1}

// mapper turns ticket events into the standard's application data and
// keeps what the answers to the centre's queries need: the open episodes
// of each device (a clear sends the state that remains), the gateway's
// own open faults, the offline devices and the last state of each
// component. Applying the same record twice (a resend after reconnect)
// gives the same result.
type mapper struct {
	zones map[string]uint16
	loc   *time.Location

	mu         sync.Mutex
	devices    map[string]map[string]gb26875.ComponentStatus // device → ticket → bit
	gateway    map[string]bool                               // open gateway faults by ticket
	offline    map[string]bool                               // devices with device_offline open
	components map[gb26875.ComponentAddr]gb26875.ComponentState
	sysOps     []gb26875.SystemOperation // type 4 sent, oldest first (query 64)
	devOps     []gb26875.DeviceOperation // type 24 sent, oldest first (query 84)
}

func newMapper(zones map[string]uint16, loc *time.Location) *mapper {
	return &mapper{
		zones: zones, loc: loc,
		devices: map[string]map[string]gb26875.ComponentStatus{}, gateway: map[string]bool{},
		offline: map[string]bool{}, components: map[gb26875.ComponentAddr]gb26875.ComponentState{},
	}
}

// units maps one outbox record to the units to send, in order; none for a
// record this uplink does not send (telemetry). An error is a record that
// cannot be mapped (not a ticket event).
func (m *mapper) units(rec outbox.Record, now time.Time) ([]gb26875.AppData, error) {
	if !rec.IsTicket() {
		return nil, nil // telemetry: not sent on this link (docs/gb26875.md §5)
	}
	t, err := ticket.Parse(rec.Payload)
	if err != nil {
		return nil, fmt.Errorf("seq %d: not a ticket event: %w", rec.Seq, err)
	}
	if t.Schema != ticket.Schema {
		return nil, fmt.Errorf("seq %d: schema %q is not %s", rec.Seq, t.Schema, ticket.Schema)
	}
	switch t.State {
	case ticket.StateOpen, ticket.StateEscalate, ticket.StateClear, ticket.StateTest, ticket.StateDropped, ticket.StateOperation:
	default:
		return nil, fmt.Errorf("seq %d: unknown ticket state %q", rec.Seq, t.State)
	}
	at := m.label(t.OccurredAt, now)
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case t.State == ticket.StateOperation || t.Kind == ticket.KindOperation: // a dropped one too
		u := operationUnit(t, at)
		m.sysOps = keep(m.sysOps, u.Objects[0].(gb26875.SystemOperation))
		return []gb26875.AppData{u}, nil
	case t.Category == rules.CategoryGateway || t.Device.Profile == ticket.GatewayProfile:
		return []gb26875.AppData{m.gatewayUnit(t, at)}, nil
	}
	return m.componentUnits(t, at), nil
}

// label is the time label of an RFC 3339 time in the site's zone, or of
// now when it does not parse.
func (m *mapper) label(s string, now time.Time) gb26875.TimeLabel {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t = now
	}
	return gb26875.LabelOf(t.In(m.loc))
}

// state is what an event does: open (or escalate), clear or test. A
// dropped tombstone keeps the coding of the event it replaces, so its
// notice type tells which.
func state(t ticket.Ticket) string {
	if t.State != ticket.StateDropped {
		return t.State
	}
	switch {
	case t.NoticeTypeZh == ticket.NoticeTest:
		return ticket.StateTest
	case strings.HasSuffix(t.NoticeTypeZh, "解除信息") || t.NoticeTypeZh == ticket.NoticeFaultCleared:
		return ticket.StateClear
	}
	return ticket.StateOpen
}

// hazardBit is the component status bit of a hazard: the catalogue's
// (1 fire, 2 fault, 3 disabled, 8 power fault), else by kind: an alarm is
// fire, a hazard (预警) supervisory, a fault fault.
func hazardBit(t ticket.Ticket) gb26875.ComponentStatus {
	if info, ok := rules.LookupHazard(t.Hazard); ok && info.StatusBit >= 0 {
		return 1 << info.StatusBit
	}
	switch t.Kind {
	case ticket.KindAlarm:
		return gb26875.StatusFire
	case ticket.KindHazard:
		return gb26875.StatusSupervisory
	}
	return gb26875.StatusFault
}

// componentUnits is a type-2 state of the device after the event, and for
// a test the type-4 test record after it.
func (m *mapper) componentUnits(t ticket.Ticket, at gb26875.TimeLabel) []gb26875.AppData {
	c := gb26875.Component{
		System: fireSystem, Type: gb26875.ComponentType(max(0, min(t.Device.GB26875ComponentType, 255))),
		Addr: gb26875.ComponentAddr{Zone: m.zones[t.Device.Bus], Position: uint16(max(0, min(t.Device.Slave, 65535)))},
	}
	desc := t.Device.Name
	if desc == "" {
		desc = t.Device.ID
	}
	st := state(t)
	var status gb26875.ComponentStatus
	if st != ticket.StateTest {
		m.track(t, st)
		status = gb26875.StatusNormal | m.openBits(t.Device.ID) | afterBits(t.GBT45839Status, m.openBits(t.Device.ID))
	}
	obj := gb26875.ComponentState{Component: c, Status: status, Description: desc, Time: at}
	if len(m.components) < maxComponents || m.components[c.Addr] != (gb26875.ComponentState{}) {
		m.components[c.Addr] = obj
	}
	out := []gb26875.AppData{{Type: gb26875.TypeComponentState, Objects: []gb26875.Object{obj}}}
	if st == ticket.StateTest {
		op := gb26875.SystemOperation{System: fireSystem, Flags: gb26875.OpTest, Time: at}
		m.sysOps = keep(m.sysOps, op)
		out = append(out, gb26875.AppData{Type: gb26875.TypeSystemOperation, Objects: []gb26875.Object{op}})
	}
	return out
}

// track records an open episode of t's device, or forgets a cleared one.
func (m *mapper) track(t ticket.Ticket, st string) {
	dev := t.Device.ID
	if t.Hazard == "device_offline" {
		if st == ticket.StateClear {
			delete(m.offline, dev)
		} else if len(m.offline) < maxDevices {
			m.offline[dev] = true
		}
	}
	open := m.devices[dev]
	if st == ticket.StateClear {
		delete(open, t.TicketID)
		if len(open) == 0 {
			delete(m.devices, dev)
		}
		return
	}
	if open == nil {
		if len(m.devices) >= maxDevices {
			return
		}
		open = map[string]gb26875.ComponentStatus{}
		m.devices[dev] = open
	}
	if _, ok := open[t.TicketID]; ok || len(open) < maxOpenPerDevice {
		open[t.TicketID] = hazardBit(t)
	}
}

func (m *mapper) openBits(dev string) gb26875.ComponentStatus {
	var s gb26875.ComponentStatus
	for _, b := range m.devices[dev] {
		s |= b
	}
	return s
}

// afterBits adds what the ticket's GB/T 45839 status (the device's state
// after the event) says and the tracked episodes do not: after a restart
// the link has not seen the episodes opened before it. 3 故障 adds fault,
// 4 屏蔽 disabled, 2 报警 supervisory (not fire: which alarm is open is
// unknown, and a false fire at the 119 centre costs a dispatch).
func afterBits(gbt int, known gb26875.ComponentStatus) gb26875.ComponentStatus {
	switch {
	case gbt == 3 && known&(gb26875.StatusFault|gb26875.StatusPowerFault) == 0:
		return gb26875.StatusFault
	case gbt == 4 && known&gb26875.StatusDisabled == 0:
		return gb26875.StatusDisabled
	case gbt == 2 && known&(gb26875.StatusFire|gb26875.StatusSupervisory) == 0:
		return gb26875.StatusSupervisory
	}
	return 0
}

// gatewayUnit is a gateway-level event: its test as a type-24 test
// record, anything else as the device's state (type 21) after it.
func (m *mapper) gatewayUnit(t ticket.Ticket, at gb26875.TimeLabel) gb26875.AppData {
	st := state(t)
	if st == ticket.StateTest {
		op := gb26875.DeviceOperation{Flags: gb26875.DevOpTest, Time: at}
		m.devOps = keep(m.devOps, op)
		return gb26875.AppData{Type: gb26875.TypeDeviceOperation, Objects: []gb26875.Object{op}}
	}
	if st == ticket.StateClear {
		delete(m.gateway, t.TicketID)
	} else if len(m.gateway) < maxOpenPerDevice {
		m.gateway[t.TicketID] = true
	}
	return gb26875.AppData{Type: gb26875.TypeDeviceState, Objects: []gb26875.Object{
		gb26875.DeviceState{Status: m.deviceStatusLocked(), Time: at}}}
}

// deviceStatus is the transmission device's state: normal, fault while a
// gateway fault is open, monitored-link fault while a device is offline.
func (m *mapper) deviceStatus() gb26875.DeviceStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.deviceStatusLocked()
}

func (m *mapper) deviceStatusLocked() gb26875.DeviceStatus {
	s := gb26875.DevNormal
	if len(m.gateway) > 0 {
		s |= gb26875.DevFault
	}
	if len(m.offline) > 0 {
		s |= gb26875.DevMonitoredLinkFault
	}
	return s
}

// keepDeviceOp records a device operation sent (for query 84).
func (m *mapper) keepDeviceOp(op gb26875.DeviceOperation) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.devOps = keep(m.devOps, op)
}

// keep appends op to a bounded record list, dropping the oldest.
func keep[T any](list []T, op T) []T {
	if len(list) >= maxOpRecords {
		list = append(list[:0], list[1:]...)
	}
	return append(list, op)
}

// since returns up to n records (all when n is 0) at or after start, the
// oldest first; at is a record's time label.
func since[T gb26875.Object](list []T, at func(T) gb26875.TimeLabel, start gb26875.TimeLabel, n int, loc *time.Location) []gb26875.Object {
	from, err := start.In(loc)
	var out []gb26875.Object
	for _, r := range list {
		t, terr := at(r).In(loc)
		if (err == nil && terr == nil && t.Before(from)) || (n > 0 && len(out) >= n) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// operations answers query 64 (system) or 84 (device): the operation
// records sent, from start, at most n (the type's maximum when 0).
func (m *mapper) operations(device bool, start gb26875.TimeLabel, n int) gb26875.AppData {
	m.mu.Lock()
	defer m.mu.Unlock()
	if device {
		n = min(n, gb26875.TypeDeviceOperation.MaxObjects())
		if n == 0 {
			n = gb26875.TypeDeviceOperation.MaxObjects()
		}
		return gb26875.AppData{Type: gb26875.TypeDeviceOperation,
			Objects: since(m.devOps, func(o gb26875.DeviceOperation) gb26875.TimeLabel { return o.Time }, start, n, m.loc)}
	}
	if n == 0 {
		n = gb26875.TypeSystemOperation.MaxObjects()
	}
	return gb26875.AppData{Type: gb26875.TypeSystemOperation,
		Objects: since(m.sysOps, func(o gb26875.SystemOperation) gb26875.TimeLabel { return o.Time }, start, n, m.loc)}
}

// operationUnit is an operation record on a device (type 4).
func operationUnit(t ticket.Ticket, at gb26875.TimeLabel) gb26875.AppData {
	var flags gb26875.OperationFlags
	if t.Operation != nil {
		switch t.Operation.Action {
		case "reset":
			flags = gb26875.OpReset
		case "mute":
			flags = gb26875.OpMute
		case "self-test":
			flags = gb26875.OpSelfTest
		}
	}
	return gb26875.AppData{Type: gb26875.TypeSystemOperation, Objects: []gb26875.Object{
		gb26875.SystemOperation{System: fireSystem, Flags: flags, Time: at}}}
}

// component is the last state sent for addr (query 62).
func (m *mapper) component(addr gb26875.ComponentAddr) (gb26875.ComponentState, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.components[addr]
	return c, ok
}

// systemStatus is the fire alarm system's state (query 61): normal plus
// every open bit of every device.
func (m *mapper) systemStatus() gb26875.SystemStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := gb26875.SysNormal
	for dev := range m.devices {
		s |= gb26875.SystemStatus(m.openBits(dev) & 0xFF)
	}
	return s
}
