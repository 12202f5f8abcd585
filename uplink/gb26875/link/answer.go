package link

import (
	"errors"
	"fmt"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
)

// handle deals with one frame the centre sent on its own: a bad frame is
// denied, a control command confirmed (or denied), a request answered (or
// denied); a stray confirm, deny or response is ignored. A write failure
// or the end of the connection is an error.
func (s *session) handle(in inbound) error {
	var fe *gb26875.FrameError
	if in.err != nil {
		if !errors.As(in.err, &fe) {
			return in.err
		}
		s.l.count(func(st *Stats) { st.BadFrames++ })
		s.l.log.Warn("gb26875: bad frame from the centre; denied", "err", in.err)
		if deny, ok := gb26875.DenyFor(in.err, s.l.label(s.l.o.Now())); ok {
			return s.reply(deny, nil)
		}
		return nil
	}
	f := in.f
	switch f.Command {
	case gb26875.CmdControl:
		return s.control(f)
	case gb26875.CmdRequest:
		return s.request(f)
	case gb26875.CmdSend:
		return s.deny(f, "the centre sent data (2); fenghuo receives none")
	}
	s.l.log.Debug("gb26875: stray frame ignored", "command", f.Command.String(), "serial", f.Serial)
	return nil
}

// reply answers f with c and data, the serial echoed, from the link's own
// address.
func (s *session) reply(f gb26875.Frame, data []byte) error {
	f.Source, f.Dest = s.l.o.Address, s.l.o.CentreAddress
	f.Time = s.l.label(s.l.o.Now())
	f.Version = gb26875.Version2011
	f.Data = data
	b, err := f.MarshalBinary()
	if err != nil {
		return fmt.Errorf("encode %s: %w", f.Command, err)
	}
	return s.write(b)
}

func (s *session) deny(f gb26875.Frame, why string) error {
	s.l.count(func(st *Stats) { st.BadFrames++ })
	s.l.log.Warn("gb26875: centre's frame denied", "serial", f.Serial, "command", f.Command.String(), "why", why)
	return s.reply(gb26875.Reply(f, gb26875.CmdDeny, gb26875.TimeLabel{}), nil)
}

func (s *session) confirm(f gb26875.Frame) error {
	s.l.count(func(st *Stats) { st.Answered++ })
	return s.reply(gb26875.Reply(f, gb26875.CmdConfirm, gb26875.TimeLabel{}), nil)
}

// control confirms initialise (89), clock sync (90) and duty check (91).
func (s *session) control(f gb26875.Frame) error {
	app, err := gb26875.DecodeAppData(f.Data)
	if err != nil || len(app.Objects) == 0 {
		return s.deny(f, fmt.Sprintf("control data: %v", err))
	}
	o := &s.l.o
	now := o.Now()
	switch v := app.Objects[0].(type) {
	case gb26875.Reserved:
		if app.Type != gb26875.TypeInitDevice {
			return s.deny(f, app.Type.Name()+" is not a control command")
		}
		s.l.log.Info("gb26875: initialise command from the centre (fenghuo keeps its data)")
		if o.OnInitialise != nil {
			o.OnInitialise(now)
		}
	case gb26875.ClockSync:
		label := f.Time
		if v.HasTime {
			label = v.Time
		}
		centre, err := label.In(o.Location)
		if err != nil {
			return s.deny(f, err.Error())
		}
		s.clockOffset(centre.Sub(now))
	case gb26875.DutyCheck:
		s.l.count(func(st *Stats) { st.DutyChecks++ })
		s.l.log.Info("gb26875: duty check (查岗) from the centre; a person answers", "arg", v.Arg)
		if o.OnDutyCheck != nil {
			o.OnDutyCheck(now)
		}
	default:
		return s.deny(f, app.Type.Name()+" is not a control command")
	}
	return s.confirm(f)
}

func (s *session) clockOffset(off time.Duration) {
	s.l.count(func(st *Stats) { st.ClockOffset, st.ClockKnown = off, true })
	s.l.log.Info("gb26875: clock sync from the centre; the system clock is left to NTP", "offset", off.String())
	if s.l.o.OnClockOffset != nil {
		s.l.o.OnClockOffset(off)
	}
}

// request answers a query with a response (5) carrying the answer, or
// denies one fenghuo cannot answer.
func (s *session) request(f gb26875.Frame) error {
	app, err := gb26875.DecodeAppData(f.Data)
	if err != nil || len(app.Objects) == 0 {
		return s.deny(f, fmt.Sprintf("request data: %v", err))
	}
	ans, ok := s.l.answer(app)
	if !ok {
		return s.deny(f, "cannot answer "+app.Type.Name())
	}
	data, err := ans.MarshalBinary()
	if err != nil {
		return s.deny(f, err.Error())
	}
	s.l.count(func(st *Stats) { st.Answered++ })
	return s.reply(gb26875.Reply(f, gb26875.CmdResponse, gb26875.TimeLabel{}), data)
}

// answer is the unit answering query q: device state (81), operation
// records (84), version (85), configuration (86) and time (88); the fire
// alarm system's state (61), a component's last state (62), operation
// records (64), version (65) and time (68). Any other query, a system or
// component fenghuo does not report, or records it has none of, has none.
func (l *Link) answer(q gb26875.AppData) (gb26875.AppData, bool) {
	now := l.label(l.o.Now())
	one := func(t gb26875.TypeFlag, o gb26875.Object) (gb26875.AppData, bool) {
		return gb26875.AppData{Type: t, Objects: []gb26875.Object{o}}, true
	}
	switch q.Type {
	case gb26875.TypeReadDeviceState:
		return one(gb26875.TypeDeviceState, gb26875.DeviceState{Status: l.m.deviceStatus(), Time: now})
	case gb26875.TypeReadDeviceVer:
		return l.versionUnit(), true
	case gb26875.TypeReadDeviceConfig:
		return one(gb26875.TypeDeviceConfig, gb26875.DeviceConfig{Text: l.o.Config})
	case gb26875.TypeReadDeviceTime:
		return one(gb26875.TypeDeviceTime, gb26875.DeviceTime{Time: now})
	case gb26875.TypeReadComponent:
		return l.answerComponents(q)
	case gb26875.TypeReadDeviceOps:
		rq := q.Objects[0].(gb26875.DeviceRecordQuery)
		a := l.m.operations(true, rq.Start, int(rq.Count))
		return a, len(a.Objects) > 0
	case gb26875.TypeReadSystemOps:
		rq := q.Objects[0].(gb26875.RecordQuery)
		a := l.m.operations(false, rq.Start, int(rq.Count))
		return a, rq.System == fireSystem && len(a.Objects) > 0
	}
	sq, ok := q.Objects[0].(gb26875.SystemQuery)
	if !ok || sq.System != fireSystem {
		return gb26875.AppData{}, false
	}
	switch q.Type {
	case gb26875.TypeReadSystemState:
		return one(gb26875.TypeSystemState, gb26875.SystemState{System: fireSystem, Status: l.m.systemStatus(), Time: now})
	case gb26875.TypeReadSystemVer:
		return one(gb26875.TypeSystemVersion, gb26875.SystemVersion{System: fireSystem, Major: l.o.Version[0], Minor: l.o.Version[1]})
	case gb26875.TypeReadSystemTime:
		return one(gb26875.TypeSystemTime, gb26875.SystemTime{System: fireSystem, Time: now})
	}
	return gb26875.AppData{}, false
}

// answerComponents is the last state sent of each component asked for
// that fenghuo knows; none known: no answer.
func (l *Link) answerComponents(q gb26875.AppData) (gb26875.AppData, bool) {
	out := gb26875.AppData{Type: gb26875.TypeComponentState}
	for _, o := range q.Objects {
		cq, ok := o.(gb26875.ComponentQuery)
		if !ok || cq.System != fireSystem {
			continue
		}
		if c, ok := l.m.component(cq.Addr); ok && len(out.Objects) < gb26875.TypeComponentState.MaxObjects() {
			out.Objects = append(out.Objects, c)
		}
	}
	return out, len(out.Objects) > 0
}
