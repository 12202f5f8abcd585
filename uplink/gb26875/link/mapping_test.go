package link

import (
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// mappingCase is one event and what is sent for it: a ComponentStatus,
// DeviceStatus, OperationFlags or DeviceOperationFlags per unit.
type mappingCase struct {
	name string
	rec  outbox.Record
	want []any
}

// mappingCases are applied in order on one mapper: the state a clear
// sends depends on what is still open.
func mappingCases(t *testing.T) []mappingCase {
	ev := func(mod func(*ticket.Ticket)) outbox.Record {
		tk := fireTicket()
		mod(&tk)
		return record(t, tk, outbox.PriorityTicket)
	}
	fault := func(tk *ticket.Ticket) {
		tk.TicketID, tk.Hazard, tk.Kind, tk.NoticeTypeZh, tk.GBT45839Status = "f", "detector_fault", ticket.KindFault, ticket.NoticeFault, 3
	}
	gw := func(tk *ticket.Ticket) {
		tk.TicketID, tk.Hazard, tk.Kind, tk.Category = "r25", "uplink_transmission_fault", ticket.KindFault, "gateway"
		tk.Device = ticket.GatewayDevice(tk.Gateway)
	}
	return []mappingCase{
		{"fire open", ev(func(*ticket.Ticket) {}), []any{gb26875.ComponentStatus(0x0003)}},
		{"fault while fire open", ev(fault), []any{gb26875.ComponentStatus(0x0007)}},
		{"fire clear, fault still open", ev(func(tk *ticket.Ticket) {
			tk.State, tk.NoticeTypeZh, tk.GBT45839Status = ticket.StateClear, ticket.NoticeFireCleared, 3
		}), []any{gb26875.ComponentStatus(0x0005)}},
		{"fault cleared (tombstone)", ev(func(tk *ticket.Ticket) {
			fault(tk)
			tk.State, tk.NoticeTypeZh, tk.GBT45839Status = ticket.StateDropped, ticket.NoticeFaultCleared, 1
		}), []any{gb26875.ComponentStatus(0x0001)}},
		{"pre-alarm", ev(func(tk *ticket.Ticket) {
			tk.TicketID, tk.Hazard, tk.Kind = "p", "smoke_prealarm", ticket.KindHazard
		}), []any{gb26875.ComponentStatus(0x0011)}},
		{"low battery", ev(func(tk *ticket.Ticket) {
			tk.Device.ID, tk.TicketID, tk.Hazard, tk.Kind, tk.GBT45839Status = "smoke-2", "b", "low_battery", ticket.KindFault, 3
		}), []any{gb26875.ComponentStatus(0x0101)}},
		{"disabled", ev(func(tk *ticket.Ticket) {
			tk.Device.ID, tk.TicketID, tk.Hazard, tk.Kind, tk.GBT45839Status = "smoke-3", "d", "detector_disabled", ticket.KindFault, 4
		}), []any{gb26875.ComponentStatus(0x0009)}},
		{"clear after a restart, another alarm still open", ev(func(tk *ticket.Ticket) {
			tk.Device.ID, tk.TicketID, tk.State, tk.GBT45839Status = "smoke-4", "x", ticket.StateClear, 2
		}), []any{gb26875.ComponentStatus(0x0011)}},
		{"test", ev(func(tk *ticket.Ticket) {
			tk.TicketID, tk.State, tk.NoticeTypeZh, tk.GBT45839Status = "t", ticket.StateTest, ticket.NoticeTest, 1
		}), []any{gb26875.ComponentStatus(0), gb26875.OpTest}},
		{"R25", ev(gw), []any{gb26875.DevNormal | gb26875.DevFault}},
		{"R25 clear", ev(func(tk *ticket.Ticket) { gw(tk); tk.State = ticket.StateClear }), []any{gb26875.DevNormal}},
		{"gateway self-test", ev(func(tk *ticket.Ticket) { gw(tk); tk.State = ticket.StateTest }), []any{gb26875.DevOpTest}},
		{"operation", ev(func(tk *ticket.Ticket) {
			tk.State, tk.Operation = ticket.StateOperation, &ticket.Operation{Action: "mute"}
		}), []any{gb26875.OpMute}},
		{"operation dropped", ev(func(tk *ticket.Ticket) {
			tk.State, tk.Kind, tk.NoticeTypeZh, tk.Operation = ticket.StateDropped, ticket.KindOperation, ticket.NoticeOperation, &ticket.Operation{Action: "reset"}
		}), []any{gb26875.OpReset}},
		{"telemetry", outbox.Record{Priority: outbox.PriorityTelemetry, Payload: []byte("{}")}, nil},
	}
}

// What is sent for each kind of event.
func TestMapping(t *testing.T) {
	m := newMapper(map[string]uint16{"rs485-1": 1}, time.FixedZone("UTC+8", 8*3600))
	for _, c := range mappingCases(t) {
		units, err := m.units(c.rec, time.Now())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(units) != len(c.want) {
			t.Fatalf("%s: %d units, want %d", c.name, len(units), len(c.want))
		}
		for i, u := range units {
			if got := statusOf(u); got != c.want[i] {
				t.Errorf("%s: unit %d (%s) is %v, want %v", c.name, i, u.Type.Name(), got, c.want[i])
			}
			if _, err := u.MarshalBinary(); err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
		}
	}
	for _, bad := range []string{"not json", `{"schema":"fenghuo.health.v1"}`, `{"schema":"fenghuo.ticket.v1","state":"bogus"}`} {
		if _, err := m.units(outbox.Record{Priority: outbox.PriorityTicket, Payload: []byte(bad)}, time.Now()); err == nil {
			t.Errorf("%s mapped", bad)
		}
	}
}

func statusOf(u gb26875.AppData) any {
	switch o := u.Objects[0].(type) {
	case gb26875.ComponentState:
		return o.Status
	case gb26875.DeviceState:
		return o.Status
	case gb26875.SystemOperation:
		return o.Flags
	case gb26875.DeviceOperation:
		return o.Flags
	}
	return nil
}

// A device offline sets the transmission device's monitored-link bit
// (type 21 bit 6) until its clear.
func TestOfflineSetsDeviceState(t *testing.T) {
	m := newMapper(nil, time.UTC)
	off := fireTicket()
	off.TicketID, off.Hazard, off.Kind, off.GBT45839Status = "o", "device_offline", ticket.KindFault, 3
	if _, err := m.units(record(t, off, outbox.PriorityTicket), time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := m.deviceStatus(); got != gb26875.DevNormal|gb26875.DevMonitoredLinkFault {
		t.Fatalf("device state %v while a device is offline", got)
	}
	off.State = ticket.StateClear
	if _, err := m.units(record(t, off, outbox.PriorityTicket), time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := m.deviceStatus(); got != gb26875.DevNormal {
		t.Fatalf("device state %v after the clear", got)
	}
}

func TestParseZone(t *testing.T) {
	for in, off := range map[string]int{"+08:00": 8 * 3600, "-03:30": -(3*3600 + 1800), "+00:00": 0} {
		loc, err := ParseZone(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if _, got := time.Date(2026, 1, 1, 0, 0, 0, 0, loc).Zone(); got != off {
			t.Errorf("%s: offset %d", in, got)
		}
	}
	for _, bad := range []string{"", "08:00", "+8:00", "+15:00", "+08:60", "+08-00", "UTC", "++8:00"} {
		if _, err := ParseZone(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestFromSettings(t *testing.T) {
	o, err := FromSettings(Settings{Centre: "10.20.30.40:9000", Address: 330502103001}, outbox.NewMemory())
	if err != nil {
		t.Fatal(err)
	}
	if o.ConfirmTimeout != DefaultConfirmTimeout || o.Retries != DefaultRetries || o.Heartbeat != DefaultHeartbeat || o.Address != 330502103001 {
		t.Errorf("%+v", o)
	}
	if _, off := time.Now().In(o.Location).Zone(); off != 8*3600 {
		t.Errorf("default zone offset %d", off)
	}
	if _, err := FromSettings(Settings{Centre: "nohost"}, outbox.NewMemory()); err == nil {
		t.Error("centre without a port accepted")
	}
	if _, err := FromSettings(Settings{Centre: "a:1", Address: 1 << 48}, outbox.NewMemory()); err == nil {
		t.Error("7-byte address accepted")
	}
}
