package link

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875/centre"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

const (
	devAddr    gb26875.Address = 330502103001
	centreAddr gb26875.Address = 0x015B38
)

// seen is one frame the centre received and what it answered.
type seen struct {
	f   gb26875.Frame
	app gb26875.AppData
	act centre.Action
}

// testCentre is a real reference centre on 127.0.0.1 that records what it
// receives; decide (nil: confirm all) chooses its answers.
type testCentre struct {
	srv    *centre.Server
	addr   string
	stop   func() // closes the listener and every connection
	mu     sync.Mutex
	frames []seen
}

func (c *testCentre) onFrame(f gb26875.Frame, act centre.Action) {
	app, _ := gb26875.DecodeAppData(f.Data)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frames = append(c.frames, seen{f: f, app: app, act: act})
}

// received returns the frames received so far that keep says to keep.
func (c *testCentre) received(keep func(seen) bool) []seen {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []seen
	for _, s := range c.frames {
		if keep == nil || keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// startCentre serves a centre on addr ("127.0.0.1:0" for a new port) until
// the test ends.
func startCentre(t testing.TB, addr string, decide func(gb26875.Frame) centre.Action) *testCentre {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &testCentre{addr: ln.Addr().String()}
	c.srv = centre.New(centre.Options{Out: io.Discard, Decide: decide, OnFrame: c.onFrame})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.srv.Serve(ctx, ln) }()
	c.stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("centre: %v", err)
		}
	})
	t.Cleanup(c.stop)
	return c
}

// startLink runs a link to addr over ob until the test ends.
func startLink(t testing.TB, addr string, ob outbox.Outbox, tweak func(*Options)) *Link {
	t.Helper()
	o := Options{
		Centre: addr, Address: devAddr, CentreAddress: centreAddr, Outbox: ob,
		ConfirmTimeout: time.Second, Retries: 3, Heartbeat: time.Hour,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, PollInterval: 20 * time.Millisecond,
		BusZones: map[string]uint16{"rs485-1": 1, "rs485-2": 2},
	}
	if tweak != nil {
		tweak(&o)
	}
	l, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return l
}

// eventually polls cond until it holds or 15 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fireTicket is an open smoke fire alarm on smoke-1 (bus rs485-1, slave 12).
func fireTicket() ticket.Ticket {
	return ticket.Ticket{
		Schema: ticket.Schema, EventID: "ev-fire", TicketID: "gw-1/smoke-1/R1/1", State: ticket.StateOpen,
		Hazard: "smoke_fire_alarm", Category: "smoke", Kind: ticket.KindAlarm, Level: 1,
		NoticeTypeZh: ticket.NoticeFire, GBT45839Status: 2, Rule: "R1",
		OccurredAt: "2026-12-05T09:58:02.000+08:00",
		Gateway:    ticket.Gateway{ID: "gw-1"},
		Device: ticket.Device{ID: "smoke-1", Name: "一楼厨房烟感", Profile: "smoke-detector",
			GB26875ComponentType: 42, Bus: "rs485-1", Slave: 12},
	}
}

// record is t as an outbox record of priority p.
func record(t testing.TB, tk ticket.Ticket, p int) outbox.Record {
	t.Helper()
	b, err := tk.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return outbox.Record{EventID: tk.EventID, TicketID: tk.TicketID, State: tk.State, Hazard: tk.Hazard,
		Device: tk.Device.ID, Level: tk.Level, Priority: p, Payload: b}
}

func appendRecs(t testing.TB, ob outbox.Outbox, recs ...outbox.Record) []outbox.Record {
	t.Helper()
	out, err := ob.Append(context.Background(), recs...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func pending(t testing.TB, ob outbox.Outbox) int {
	t.Helper()
	recs, err := ob.Pending(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(recs)
}

func ofType(tf gb26875.TypeFlag) func(seen) bool {
	return func(s seen) bool { return s.f.Command == gb26875.CmdSend && s.app.Type == tf }
}
