package mqttlink_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

const (
	township = "330502103"
	gateway  = "gw-330502103-test-01"
)

var topics = mqttlink.Topics{Prefix: "fenghuo/v1", Township: township, Gateway: gateway}

// record builds the outbox record of the n-th smoke alarm of a test site.
func record(t *testing.T, n int, level int) outbox.Record {
	t.Helper()
	r, err := recordFor(gateway, n, level)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// recordFor is record for gateway gw.
func recordFor(gw string, n int, level int) (outbox.Record, error) {
	v := float64(1)
	ev := rules.Event{Kind: rules.Open, TicketID: fmt.Sprintf("smoke-%d/R1/20261129T001502.000", n), Device: fmt.Sprintf("smoke-%d", n),
		Rule: "R1", Hazard: "smoke_fire_alarm", Level: level, At: time.Now(), OccurrenceCount: 1,
		Evidence: rules.Evidence{Point: "alarm", Value: &v}}
	tk := ticket.FromEvent(ev,
		ticket.HazardMeta{Code: "smoke_fire_alarm", Zh: "烟感火警", En: "Smoke fire alarm", Kind: "alarm", Category: "smoke"},
		ticket.Gateway{ID: gw, Site: ticket.Site{Name: "云村文化礼堂", Township: "织里镇", TownshipCode: township}},
		ticket.Device{ID: ev.Device, Name: "烟感", Profile: "smoke-detector", Location: "一楼厨房", Bus: "rs485-1", Slave: n})
	p, err := tk.Marshal()
	if err != nil {
		return outbox.Record{}, err
	}
	prio := outbox.PriorityTicket
	if level == 1 {
		prio = outbox.PriorityLevel1
	}
	return outbox.Record{EventID: tk.EventID, TicketID: tk.TicketID, State: tk.State, Hazard: tk.Hazard, Rule: "R1",
		Device: ev.Device, Level: level, Priority: prio, Payload: p}, nil
}

func appendN(t *testing.T, o outbox.Outbox, from, to int) {
	t.Helper()
	for i := from; i <= to; i++ {
		if _, err := o.Append(context.Background(), record(t, i, 2)); err != nil {
			t.Fatal(err)
		}
	}
}

// start runs a link until the test ends; Run must return nil.
func start(t *testing.T, opts mqttlink.Options) (*mqttlink.Link, context.CancelFunc) {
	t.Helper()
	opts.TopicPrefix, opts.TownshipCode, opts.GatewayID = topics.Prefix, township, gateway
	if opts.MaxBackoff == 0 {
		opts.MinBackoff, opts.MaxBackoff = 100*time.Millisecond, 400*time.Millisecond
	}
	l, err := mqttlink.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return l, stop
}

// decode validates every message and returns the tickets deduplicated by
// event_id, in arrival order.
func decode(t *testing.T, msgs []mqtttest.Message) []ticket.Ticket {
	t.Helper()
	v := mqtttest.NewValidator(t)
	seen := map[string]bool{}
	var out []ticket.Ticket
	for _, m := range msgs {
		v.ValidateTicket(t, m.Payload)
		tk, err := ticket.Parse(m.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if !seen[tk.EventID] {
			seen[tk.EventID] = true
			out = append(out, tk)
		}
	}
	return out
}

func distinct(n int) func([]mqtttest.Message) bool {
	return func(msgs []mqtttest.Message) bool {
		ids := map[string]bool{}
		for _, m := range msgs {
			if tk, err := ticket.Parse(m.Payload); err == nil {
				ids[tk.EventID] = true
			}
		}
		return len(ids) >= n
	}
}

func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDeliversInSeqOrderWithRetainedOnline(t *testing.T) {
	b := mqtttest.StartMosquitto(t)
	tickets := mqtttest.Subscribe(t, b.URL(), topics.Tickets())
	ob := outbox.NewMemory()
	var published atomic.Int32
	l, _ := start(t, mqttlink.Options{Broker: b.URL(), Outbox: ob, OnPublished: func(outbox.Record, time.Time) { published.Add(1) }})
	appendN(t, ob, 1, 5)
	l.Notify()
	got := decode(t, tickets.WaitUntil("5 tickets", 10*time.Second, distinct(5)))
	for i, tk := range got {
		if tk.Seq != uint64(i+1) {
			t.Fatalf("ticket %d has seq %d: not in seq order", i, tk.Seq)
		}
	}
	waitUntil(t, "MarkSent of all 5", 5*time.Second, func() bool {
		st, err := ob.Stats(context.Background())
		return err == nil && st.Depth == 0 && st.Sent == 5 && published.Load() == 5
	})
	if !l.Connected() || l.LastPublish().IsZero() || l.LastRoundTrip() <= 0 || l.LastRoundTrip() > 10*time.Second {
		t.Fatalf("Connected %v LastPublish %v LastRoundTrip %v", l.Connected(), l.LastPublish(), l.LastRoundTrip())
	}
	// A subscriber arriving later gets the retained online status.
	st := mqtttest.Subscribe(t, b.URL(), topics.Status()).WaitFor(1, 5*time.Second)[0]
	mqtttest.ValidateStatus(t, st.Payload)
	s, err := ticket.ParseStatus(st.Payload)
	if err != nil || !st.Retained || s.State != "online" || s.Gateway != gateway {
		t.Fatalf("status retained=%v %+v %v", st.Retained, s, err)
	}
}

func TestLevelOneOvertakesBacklog(t *testing.T) {
	b := mqtttest.StartMosquitto(t)
	tickets := mqtttest.Subscribe(t, b.URL(), topics.Tickets())
	ob := outbox.NewMemory()
	appendN(t, ob, 1, 3)
	if _, err := ob.Append(context.Background(), record(t, 4, 1)); err != nil {
		t.Fatal(err)
	}
	start(t, mqttlink.Options{Broker: b.URL(), Outbox: ob})
	got := decode(t, tickets.WaitUntil("4 tickets", 10*time.Second, distinct(4)))
	var seqs []uint64
	for _, tk := range got {
		seqs = append(seqs, tk.Seq)
	}
	if fmt.Sprint(seqs) != "[4 1 2 3]" {
		t.Fatalf("publish order %v, want the level-1 seq 4 first, then 1 2 3", seqs)
	}
}

// TestOutageReplaysInOrder: events appended while the broker is down stay
// pending, then arrive in order with buffered=true once it is back.
func TestOutageReplaysInOrder(t *testing.T) {
	b := mqtttest.StartMosquitto(t)
	tickets := mqtttest.Subscribe(t, b.URL(), topics.Tickets())
	ob := outbox.NewMemory()
	l, _ := start(t, mqttlink.Options{Broker: b.URL(), Outbox: ob, Keepalive: 2 * time.Second})
	waitUntil(t, "connected", 10*time.Second, l.Connected)
	appendN(t, ob, 1, 2)
	l.Notify()
	tickets.WaitUntil("2 tickets before the outage", 10*time.Second, distinct(2))

	b.Stop()
	waitUntil(t, "the link to notice the outage", 15*time.Second, func() bool { return !l.Connected() })
	appendN(t, ob, 3, 6)
	l.Notify()
	st, err := ob.Stats(context.Background())
	if err != nil || st.Depth != 4 {
		t.Fatalf("during the outage: depth %d (%v), want 4 pending", st.Depth, err)
	}

	b.Start()
	got := decode(t, tickets.WaitUntil("6 tickets after the outage", 20*time.Second, distinct(6)))
	for i, tk := range got {
		if tk.Seq != uint64(i+1) {
			t.Fatalf("ticket %d has seq %d: lost or out of order", i, tk.Seq)
		}
		if want := i >= 2; tk.Buffered != want {
			t.Errorf("seq %d buffered=%v, want %v", tk.Seq, tk.Buffered, want)
		}
	}
	waitUntil(t, "the outbox to drain", 5*time.Second, func() bool {
		st, err := ob.Stats(context.Background())
		return err == nil && st.Depth == 0
	})
}

// cutter relays the link's connections through net.Pipe so a test can cut
// them like a network failure: paho reads EOF, the broker sees the socket
// die without DISCONNECT. (Closing paho's own net.Conn would not do: paho
// takes "use of closed network connection" for a deliberate close.)
type cutter struct {
	mu     sync.Mutex
	conns  []net.Conn
	refuse bool
}

func (c *cutter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refuse {
		return nil, fmt.Errorf("test: dial refused")
	}
	real, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	mine, theirs := net.Pipe()
	go relay(real, mine)
	go relay(mine, real)
	c.conns = append(c.conns, real, mine)
	return theirs, nil
}

func relay(dst io.Writer, src io.Reader) {
	if _, err := io.Copy(dst, src); err != nil {
		return // the cut; nothing to report
	}
}

func (c *cutter) cut(t *testing.T) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refuse = true
	for _, conn := range c.conns {
		if err := conn.Close(); err != nil {
			t.Logf("close: %v", err)
		}
	}
}

// TestLastWillOnAbruptLoss: when the TCP connection dies without a
// DISCONNECT, the broker publishes the retained offline status.
func TestLastWillOnAbruptLoss(t *testing.T) {
	b := mqtttest.StartMosquitto(t)
	status := mqtttest.Subscribe(t, b.URL(), topics.Status())
	var cut cutter
	l, _ := start(t, mqttlink.Options{Broker: b.URL(), Outbox: outbox.NewMemory(), Dial: cut.dial})
	status.WaitUntil("online", 10*time.Second, hasState("online"))
	cut.cut(t)
	msgs := status.WaitUntil("the last will", 10*time.Second, hasState("offline"))
	mqtttest.ValidateStatus(t, msgs[len(msgs)-1].Payload)
	waitUntil(t, "Connected() false", 15*time.Second, func() bool { return !l.Connected() })
	late := mqtttest.Subscribe(t, b.URL(), topics.Status()).WaitFor(1, 5*time.Second)[0]
	if s, err := ticket.ParseStatus(late.Payload); err != nil || !late.Retained || s.State != "offline" {
		t.Fatalf("retained status after the will: retained=%v %s", late.Retained, late.Payload)
	}
}

// TestCleanShutdownPublishesOffline: cancelling Run leaves a retained offline.
func TestCleanShutdownPublishesOffline(t *testing.T) {
	b := mqtttest.StartMosquitto(t)
	status := mqtttest.Subscribe(t, b.URL(), topics.Status())
	_, stop := start(t, mqttlink.Options{Broker: b.URL(), Outbox: outbox.NewMemory(), Heartbeat: 200 * time.Millisecond})
	status.WaitUntil("two heartbeats", 10*time.Second, func(m []mqtttest.Message) bool { return len(m) >= 2 })
	stopped := time.Now()
	stop()
	msgs := status.WaitUntil("offline", 10*time.Second, hasState("offline"))
	mqtttest.ValidateStatus(t, msgs[len(msgs)-1].Payload)
	// It is retained: a station subscribing later still sees offline, and
	// its at is the shutdown, not when the connection was opened.
	late := mqtttest.Subscribe(t, b.URL(), topics.Status()).WaitFor(1, 5*time.Second)[0]
	s, err := ticket.ParseStatus(late.Payload)
	if err != nil || !late.Retained || s.State != "offline" {
		t.Fatalf("retained status after shutdown: retained=%v %s (%v)", late.Retained, late.Payload, err)
	}
	at, err := time.Parse(time.RFC3339Nano, s.At)
	if err != nil || at.Before(stopped.Truncate(time.Millisecond)) {
		t.Fatalf("offline at %q, want the shutdown time (≥ %s)", s.At, stopped.Format(time.RFC3339Nano))
	}
}

func hasState(state string) func([]mqtttest.Message) bool {
	return func(msgs []mqtttest.Message) bool {
		for _, m := range msgs {
			if s, err := ticket.ParseStatus(m.Payload); err == nil && s.State == state {
				return true
			}
		}
		return false
	}
}
