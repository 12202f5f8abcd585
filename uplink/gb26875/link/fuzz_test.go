package link

import (
	"net"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// discardConn is a net.Conn that accepts every write.
type discardConn struct{ net.Conn }

func (discardConn) Write(b []byte) (int, error)      { return len(b), nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzCentreFrame: whatever application data a control (1), request (4) or
// send (2) from the centre carries, the link answers without panicking,
// and every answer it builds encodes.
func FuzzCentreFrame(f *testing.F) {
	for _, a := range []gb26875.AppData{
		one(gb26875.TypeDutyCheck, gb26875.DutyCheck{Arg: 10}),
		one(gb26875.TypeClockSync, gb26875.ClockSync{HasTime: true, Time: gb26875.TimeLabel{Day: 1, Month: 1}}),
		one(gb26875.TypeReadDeviceOps, gb26875.DeviceRecordQuery{Count: 3}),
		one(gb26875.TypeReadSystemOps, gb26875.RecordQuery{System: fireSystem, Count: 0}),
		one(gb26875.TypeReadComponent, gb26875.ComponentQuery{System: fireSystem}),
		one(gb26875.TypeReadSystemState, gb26875.SystemQuery{System: fireSystem}),
		one(gb26875.TypeInitDevice, gb26875.Reserved{}),
	} {
		b, err := a.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(byte(gb26875.CmdRequest), b)
		f.Add(byte(gb26875.CmdControl), b)
	}
	l, err := New(Options{Centre: "c:1", Outbox: outbox.NewMemory()})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := l.m.units(record(f, fireTicket(), outbox.PriorityLevel1), time.Now()); err != nil {
		f.Fatal(err)
	}
	s := newSession(l, discardConn{})
	f.Fuzz(func(t *testing.T, cmd byte, data []byte) {
		if len(data) > gb26875.MaxDataLen {
			return
		}
		fr := gb26875.Frame{Serial: 1, Version: gb26875.Version2011, Source: centreAddr, Dest: devAddr,
			Command: gb26875.Command(cmd%7 + 1), Data: data}
		if err := s.handle(inbound{f: fr}); err != nil {
			t.Fatalf("handle: %v", err)
		}
		if app, err := gb26875.DecodeAppData(data); err == nil && len(app.Objects) > 0 {
			if ans, ok := l.answer(app); ok {
				if _, err := ans.MarshalBinary(); err != nil {
					t.Fatalf("answer to %s does not encode: %v", app.Type.Name(), err)
				}
			}
		}
	})
}
