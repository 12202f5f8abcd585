package link

import (
	"sync"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// The centre's commands over a real connection: duty check and clock sync
// are confirmed with their serial, the offset is reported (the link's
// clock is not touched), queries are answered or denied, and a frame with
// an unknown command is denied, all while the link keeps running.
func TestCentreCommandsAnswered(t *testing.T) {
	c := startCentre(t, "127.0.0.1:0", nil)
	cst := time.FixedZone("UTC+8", 8*3600)
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, cst)
	var mu sync.Mutex
	var offsets []time.Duration
	duty := 0
	ob := outbox.NewMemory()
	test := fireTicket()
	test.State, test.NoticeTypeZh, test.GBT45839Status = ticket.StateTest, ticket.NoticeTest, 1
	appendRecs(t, ob, record(t, test, outbox.PriorityTicket))
	l := startLink(t, c.addr, ob, func(o *Options) {
		o.Now = func() time.Time { return now }
		o.OnClockOffset = func(d time.Duration) { mu.Lock(); offsets = append(offsets, d); mu.Unlock() }
		o.OnDutyCheck = func(time.Time) { mu.Lock(); duty++; mu.Unlock() }
	})
	eventually(t, "the test delivered", func() bool { return pending(t, ob) == 0 })

	send := func(serial uint16, cmd gb26875.Command, at time.Time, app gb26875.AppData) {
		t.Helper()
		centreSend(t, c, serial, cmd, at, app)
	}
	send(100, gb26875.CmdControl, now, one(gb26875.TypeDutyCheck, gb26875.DutyCheck{Arg: 10}))
	send(101, gb26875.CmdControl, now.Add(90*time.Second), one(gb26875.TypeClockSync, gb26875.ClockSync{}))
	send(102, gb26875.CmdRequest, now, one(gb26875.TypeReadDeviceState, gb26875.Reserved{}))
	send(103, gb26875.CmdRequest, now, one(gb26875.TypeReadAnalog, gb26875.ComponentQuery{System: fireSystem}))
	send(104, gb26875.Command(9), now, gb26875.AppData{})
	send(105, gb26875.CmdControl, now, one(gb26875.TypeClockSync, gb26875.ClockSync{HasTime: true, Time: gb26875.LabelOf(now.Add(-2 * time.Second))}))
	send(106, gb26875.CmdRequest, now, one(gb26875.TypeReadDeviceTime, gb26875.Reserved{}))
	send(107, gb26875.CmdRequest, now, one(gb26875.TypeReadSystemOps, gb26875.RecordQuery{System: fireSystem, Count: 5, Start: gb26875.LabelOf(now)}))
	send(108, gb26875.CmdRequest, now, one(gb26875.TypeReadDeviceOps, gb26875.DeviceRecordQuery{Count: 5, Start: gb26875.LabelOf(now)}))

	eventually(t, "nine answers", func() bool { return len(answersFrom(c, 100)) == 9 })
	got := answersFrom(c, 100)
	want := map[uint16]gb26875.Command{100: gb26875.CmdConfirm, 101: gb26875.CmdConfirm, 102: gb26875.CmdResponse,
		103: gb26875.CmdDeny, 104: gb26875.CmdDeny, 105: gb26875.CmdConfirm, 106: gb26875.CmdResponse,
		107: gb26875.CmdResponse, 108: gb26875.CmdDeny}
	for serial, cmd := range want {
		if a := got[serial]; a.f.Command != cmd || a.f.Source != devAddr || a.f.Dest != centreAddr {
			t.Errorf("serial %d answered %v %s→%s, want %v", serial, a.f.Command, a.f.Source, a.f.Dest, cmd)
		}
	}
	if st, ok := got[102].app.Objects[0].(gb26875.DeviceState); !ok || st.Status != gb26875.DevNormal {
		t.Errorf("query 81 answered %+v", got[102].app)
	}
	if dt, ok := got[106].app.Objects[0].(gb26875.DeviceTime); !ok || dt.Time != gb26875.LabelOf(now) {
		t.Errorf("query 88 answered %+v", got[106].app)
	}
	if op, ok := got[107].app.Objects[0].(gb26875.SystemOperation); !ok || op.Flags != gb26875.OpTest || len(got[107].app.Objects) != 1 {
		t.Errorf("query 64 answered %+v", got[107].app)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(offsets) != 2 || offsets[0] != 90*time.Second || offsets[1] != -2*time.Second || duty != 1 {
		t.Errorf("offsets %v, duty checks %d", offsets, duty)
	}
	if st := l.Stats(); !st.ClockKnown || st.ClockOffset != -2*time.Second || st.DutyChecks != 1 || st.BadFrames != 3 || st.Answered != 6 {
		t.Errorf("stats %+v", st)
	}
}

// centreSend sends one frame from the test centre to the link.
func centreSend(t *testing.T, c *testCentre, serial uint16, cmd gb26875.Command, at time.Time, app gb26875.AppData) {
	t.Helper()
	f := gb26875.Frame{Serial: serial, Version: gb26875.Version2011, Time: gb26875.LabelOf(at),
		Source: centreAddr, Dest: devAddr, Command: cmd}
	if app.Type != 0 {
		var err error
		if f.Data, err = app.MarshalBinary(); err != nil {
			t.Fatal(err)
		}
	}
	if c.srv.Send(f) != 1 {
		t.Fatal("the centre has no connection to send on")
	}
}

func one(tf gb26875.TypeFlag, o gb26875.Object) gb26875.AppData {
	return gb26875.AppData{Type: tf, Objects: []gb26875.Object{o}}
}

// answersFrom is the link's last frame of each serial from min on.
func answersFrom(c *testCentre, min uint16) map[uint16]seen {
	m := map[uint16]seen{}
	for _, s := range c.received(func(s seen) bool { return s.f.Serial >= min }) {
		m[s.f.Serial] = s
	}
	return m
}

// A person answers the duty check: the answer (type 24, bit 5, with the
// operator) reaches the centre.
func TestAnswerDutyCheck(t *testing.T) {
	c := startCentre(t, "127.0.0.1:0", nil)
	l := startLink(t, c.addr, outbox.NewMemory(), nil)
	eventually(t, "the connection", func() bool { return len(c.received(ofType(gb26875.TypeDeviceVersion))) == 1 })
	centreSend(t, c, 100, gb26875.CmdControl, time.Now(), one(gb26875.TypeDutyCheck, gb26875.DutyCheck{}))
	eventually(t, "the duty check", func() bool { return l.Stats().DutyChecks == 1 })
	if !l.AnswerDutyCheck(7) {
		t.Fatal("the first answer was refused")
	}
	eventually(t, "the answer at the centre", func() bool { return len(c.received(ofType(gb26875.TypeDeviceOperation))) == 1 })
	op := c.received(ofType(gb26875.TypeDeviceOperation))[0].app.Objects[0].(gb26875.DeviceOperation)
	if op.Flags != gb26875.DevOpDutyAnswer || op.Operator != 7 {
		t.Errorf("answer %+v", op)
	}
}

func TestAnswerDutyCheckBounded(t *testing.T) {
	l, err := New(Options{Centre: "c:1", Outbox: outbox.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	if !l.AnswerDutyCheck(1) || l.AnswerDutyCheck(2) {
		t.Fatal("want the first answer queued and the second refused while it waits")
	}
}
