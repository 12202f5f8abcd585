package link

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875/centre"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// The test: the centre drops the first confirm of the fire alarm
// and denies the second. The same frame (same serial, same bytes) is sent
// three times, and the record is marked sent once, after the confirm.
func TestFireRetransmittedUntilConfirmed(t *testing.T) {
	var n atomic.Int32
	c := startCentre(t, "127.0.0.1:0", func(f gb26875.Frame) centre.Action {
		if len(f.Data) == 0 || gb26875.TypeFlag(f.Data[0]) != gb26875.TypeComponentState {
			return centre.Confirm
		}
		switch n.Add(1) {
		case 1:
			return centre.Drop
		case 2:
			return centre.Deny
		}
		return centre.Confirm
	})
	ob := outbox.NewMemory()
	var mu sync.Mutex
	var delivered []uint64
	recs := appendRecs(t, ob, record(t, fireTicket(), outbox.PriorityLevel1))
	l := startLink(t, c.addr, ob, func(o *Options) {
		o.OnDelivered = func(r outbox.Record, _ time.Time) {
			mu.Lock()
			delivered = append(delivered, r.Seq)
			mu.Unlock()
		}
	})
	eventually(t, "the fire alarm marked sent", func() bool { return pending(t, ob) == 0 })

	// A second event behind it: once it is confirmed, nothing more of the
	// fire alarm can be on its way.
	clr := fireTicket()
	clr.EventID, clr.State, clr.NoticeTypeZh, clr.GBT45839Status = "ev-clear", ticket.StateClear, ticket.NoticeFireCleared, 1
	appendRecs(t, ob, record(t, clr, outbox.PriorityLevel1))
	l.Notify()
	eventually(t, "the clear marked sent", func() bool { return pending(t, ob) == 0 })

	states := c.received(ofType(gb26875.TypeComponentState))
	if len(states) != 4 {
		t.Fatalf("centre received %d component states, want 3 of the fire alarm and 1 clear", len(states))
	}
	first := states[0]
	wantActs := []centre.Action{centre.Drop, centre.Deny, centre.Confirm}
	for i, s := range states[:3] {
		if s.f.Serial != first.f.Serial || s.f.Time != first.f.Time || !bytes.Equal(s.f.Data, first.f.Data) || s.act != wantActs[i] {
			t.Errorf("send %d: serial %d act %v, want the same frame as serial %d, %v", i+1, s.f.Serial, s.act, first.f.Serial, wantActs[i])
		}
	}
	fire := first.app.Objects[0].(gb26875.ComponentState)
	if fire.Status != gb26875.StatusNormal|gb26875.StatusFire || fire.Component.Type != gb26875.ComponentPointPhotoelectric ||
		fire.Component.Addr != (gb26875.ComponentAddr{Zone: 1, Position: 12}) || fire.Description != "一楼厨房烟感" {
		t.Errorf("fire alarm sent as %+v", fire)
	}
	if got := states[3].app.Objects[0].(gb26875.ComponentState).Status; got != gb26875.StatusNormal || states[3].f.Serial != first.f.Serial+1 {
		t.Errorf("clear: status %v serial %d", got, states[3].f.Serial)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(delivered) != 2 || delivered[0] != recs[0].Seq {
		t.Errorf("delivered %v, want the fire alarm (seq %d) once, then the clear", delivered, recs[0].Seq)
	}
	st := l.Stats()
	if st.Retransmits != 2 || st.Denied != 1 || st.Timeouts != 1 || st.Delivered != 2 || st.GaveUp != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A frame never confirmed: after Retries retransmissions the link closes
// the connection, connects again, and delivers the record there.
func TestRetriesExhaustedReconnects(t *testing.T) {
	var n atomic.Int32
	c := startCentre(t, "127.0.0.1:0", func(f gb26875.Frame) centre.Action {
		if len(f.Data) > 0 && gb26875.TypeFlag(f.Data[0]) == gb26875.TypeComponentState && n.Add(1) <= 3 {
			return centre.Drop
		}
		return centre.Confirm
	})
	ob := outbox.NewMemory()
	appendRecs(t, ob, record(t, fireTicket(), outbox.PriorityLevel1))
	l := startLink(t, c.addr, ob, func(o *Options) { o.Retries = 2 })
	eventually(t, "delivery after the reconnect", func() bool { return pending(t, ob) == 0 })

	st := l.Stats()
	if st.GaveUp != 1 || st.Connects != 2 || st.Delivered != 1 || st.Retransmits != 2 {
		t.Errorf("stats %+v", st)
	}
	if v := c.received(ofType(gb26875.TypeDeviceVersion)); len(v) != 2 || v[1].f.Serial != 0 {
		t.Errorf("version frames %d (one per connection, serial 0 on each)", len(v))
	}
	states := c.received(ofType(gb26875.TypeComponentState))
	if len(states) != 4 || states[0].f.Serial != 1 || states[2].f.Serial != 1 || states[3].f.Serial != 1 || states[3].act != centre.Confirm {
		t.Errorf("component states: %d", len(states))
	}
}

// The centre is down when the link starts: the event waits in the outbox
// and is delivered once the centre listens.
func TestCentreDownAtStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ob := outbox.NewMemory()
	appendRecs(t, ob, record(t, fireTicket(), outbox.PriorityLevel1))
	l := startLink(t, addr, ob, nil)
	eventually(t, "a failed connection attempt", func() bool { return l.Stats().LastError != "" })
	if pending(t, ob) != 1 {
		t.Fatal("the record left the outbox without a centre")
	}
	c := startCentre(t, addr, nil)
	eventually(t, "delivery", func() bool { return pending(t, ob) == 0 })
	if got := c.received(ofType(gb26875.TypeComponentState)); len(got) != 1 {
		t.Errorf("centre received %d component states", len(got))
	}
}

// Fire first (GB 26875.1 4.1.2.3): a fault appended before the fire alarm
// and telemetry are sent after it; telemetry is not sent at all.
func TestFireFirstTelemetrySkipped(t *testing.T) {
	c := startCentre(t, "127.0.0.1:0", nil)
	ob := outbox.NewMemory()
	fault := fireTicket()
	fault.EventID, fault.TicketID, fault.Hazard, fault.Kind, fault.Level = "ev-fault", "gw-1/smoke-1/R3/1", "detector_fault", ticket.KindFault, 3
	fault.NoticeTypeZh, fault.GBT45839Status = ticket.NoticeFault, 3
	tel := outbox.Record{Priority: outbox.PriorityTelemetry, Payload: []byte(`{"schema":"fenghuo.telemetry.v1"}`)}
	appendRecs(t, ob, tel, record(t, fault, outbox.PriorityTicket), record(t, fireTicket(), outbox.PriorityLevel1))
	l := startLink(t, c.addr, ob, nil)
	eventually(t, "all delivered", func() bool { return pending(t, ob) == 0 })
	states := c.received(ofType(gb26875.TypeComponentState))
	if len(states) != 2 {
		t.Fatalf("%d component states", len(states))
	}
	first := states[0].app.Objects[0].(gb26875.ComponentState).Status
	second := states[1].app.Objects[0].(gb26875.ComponentState).Status
	if first != gb26875.StatusNormal|gb26875.StatusFire || second != gb26875.StatusNormal|gb26875.StatusFire|gb26875.StatusFault {
		t.Errorf("sent %v then %v, want the fire alarm first, then the fault with the fire still open", first, second)
	}
	if st := l.Stats(); st.Skipped != 1 || st.Delivered != 2 {
		t.Errorf("stats %+v", st)
	}
}

// An idle link sends the device's state (type 21) every heartbeat, each a
// new serial, each confirmed.
func TestHeartbeatOnIdle(t *testing.T) {
	c := startCentre(t, "127.0.0.1:0", nil)
	startLink(t, c.addr, outbox.NewMemory(), func(o *Options) { o.Heartbeat = 30 * time.Millisecond })
	eventually(t, "three heartbeats", func() bool { return len(c.received(ofType(gb26875.TypeDeviceState))) >= 3 })
	hb := c.received(ofType(gb26875.TypeDeviceState))
	for i, s := range hb[:3] {
		st := s.app.Objects[0].(gb26875.DeviceState).Status
		if s.f.Serial != uint16(i+1) || st != gb26875.DevNormal || s.f.Source != devAddr || s.f.Dest != centreAddr {
			t.Errorf("heartbeat %d: serial %d status %v %s→%s", i, s.f.Serial, st, s.f.Source, s.f.Dest)
		}
	}
}

// A record that is not a ticket event cannot block the link: it is
// skipped (marked done on this uplink) and the next one is delivered.
func TestUnsendableRecordSkipped(t *testing.T) {
	c := startCentre(t, "127.0.0.1:0", nil)
	ob := outbox.NewMemory()
	appendRecs(t, ob, outbox.Record{Priority: outbox.PriorityLevel1, Payload: []byte("not a ticket")},
		record(t, fireTicket(), outbox.PriorityLevel1))
	l := startLink(t, c.addr, ob, nil)
	eventually(t, "both done", func() bool { return pending(t, ob) == 0 })
	if st := l.Stats(); st.Skipped != 1 || st.Delivered != 1 || len(c.received(ofType(gb26875.TypeComponentState))) != 1 {
		t.Errorf("stats %+v", st)
	}
}

// The centre goes away while the link is connected (its listener and
// connections closed): an event appended during the outage waits in the
// outbox and reaches the centre that comes back on the same address.
func TestCentreOutageInTheMiddle(t *testing.T) {
	first := startCentre(t, "127.0.0.1:0", nil)
	ob := outbox.NewMemory()
	appendRecs(t, ob, record(t, fireTicket(), outbox.PriorityLevel1))
	l := startLink(t, first.addr, ob, nil)
	eventually(t, "the first delivery", func() bool { return pending(t, ob) == 0 })
	first.stop()
	eventually(t, "the link to notice", func() bool { return !l.Stats().Connected })

	clr := fireTicket()
	clr.EventID, clr.State, clr.NoticeTypeZh, clr.GBT45839Status = "ev-clear", ticket.StateClear, ticket.NoticeFireCleared, 1
	appendRecs(t, ob, record(t, clr, outbox.PriorityLevel1))
	l.Notify()
	if pending(t, ob) != 1 {
		t.Fatal("the clear left the outbox without a centre")
	}
	second := startCentre(t, first.addr, nil)
	eventually(t, "delivery to the second centre", func() bool { return pending(t, ob) == 0 })
	a, b := first.received(ofType(gb26875.TypeComponentState)), second.received(ofType(gb26875.TypeComponentState))
	if len(a) != 1 || len(b) != 1 || b[0].app.Objects[0].(gb26875.ComponentState).Status != gb26875.StatusNormal {
		t.Errorf("first centre got %d states, second %d", len(a), len(b))
	}
	if st := l.Stats(); st.Delivered != 2 || st.Connects < 2 {
		t.Errorf("stats %+v", st)
	}
}
