package mqttlink_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	mochipk "github.com/mochi-mqtt/server/v2/packets"

	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

const spread = 10 * time.Second

// TestConnectDelaySpreadsAFleet: the offset is fixed per gateway id, in
// [0, spread), and 1 000 ids that differ only in their digits fill each
// tenth of the spread with 100 ± 30 of them (the ids are fixed, so the
// counts are too).
func TestConnectDelaySpreadsAFleet(t *testing.T) {
	if d := mqttlink.ConnectDelay(gateway, 0); d != 0 {
		t.Fatalf("spread 0: offset %v, want 0", d)
	}
	if a, b := mqttlink.ConnectDelay(gateway, spread), mqttlink.ConnectDelay(gateway, spread); a != b {
		t.Fatalf("offset not deterministic: %v then %v", a, b)
	}
	var tenths [10]int
	for i := range 1000 {
		d := mqttlink.ConnectDelay(fmt.Sprintf("gw-330502103-%04d", i), spread)
		if d < 0 || d >= spread {
			t.Fatalf("gateway %d: offset %v outside [0, %v)", i, d, spread)
		}
		tenths[d*10/spread]++
	}
	for i, n := range tenths {
		if n < 70 || n > 130 {
			t.Errorf("%d of 1 000 gateways in tenth %d of the spread, want 100 ± 30 (all: %v)", n, i, tenths)
		}
	}
}

func TestConnectSpreadValidated(t *testing.T) {
	for _, d := range []time.Duration{-time.Second, 100 * time.Second} {
		_, err := mqttlink.New(mqttlink.Options{Broker: "tcp://127.0.0.1:1", TownshipCode: township, GatewayID: gateway,
			Outbox: outbox.NewMemory(), ConnectSpread: d})
		if err == nil || !strings.Contains(err.Error(), "ConnectSpread") || !strings.Contains(err.Error(), "FaultAfter") {
			t.Errorf("ConnectSpread %v: error %v, want one naming ConnectSpread and FaultAfter", d, err)
		}
	}
}

// TestFirstConnectSpreadSynctest: the first attempt waits the gateway's
// offset exactly; every later attempt of the outage falls on a slot
// (offset + k × spread) at or after its backoff (d doubling from 1 s to
// 60 s, each wait drawn from [d/2, d]).
func TestFirstConnectSpreadSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		_, attempts, stop := refusingLink(t, mqttlink.Options{Outbox: outbox.NewMemory(), ConnectSpread: spread})
		time.Sleep(15 * time.Minute)
		stop()
		at := attempts()
		off := mqttlink.ConnectDelay(gateway, spread)
		if len(at) < 10 || at[0].Sub(start) != off {
			t.Fatalf("attempts at %v after start, want the first at the offset %v and at least 10", since(start, at), off)
		}
		d := time.Second
		for i := 1; i < len(at); i++ {
			if (at[i].Sub(start)-off)%spread != 0 {
				t.Errorf("attempt %d at %v, not on a slot (offset %v + k × %v)", i+1, at[i].Sub(start), off, spread)
			}
			if g := at[i].Sub(at[i-1]); g < d/2 || g >= d+spread {
				t.Errorf("attempt %d came %v after the previous, want within [%v, %v)", i+1, g, d/2, d+spread)
			}
			d = min(2*d, 60*time.Second)
		}
	})
}

// TestFireAlarmSkipsTheSpreadSynctest: a fire-class record pending at
// start, or appended during the wait, makes the link connect at once;
// other tickets and telemetry wait for the offset.
func TestFireAlarmSkipsTheSpreadSynctest(t *testing.T) {
	off := mqttlink.ConnectDelay(gateway, spread)
	if off < 10*time.Millisecond {
		t.Fatalf("the test needs an offset ≥ 10 ms, gateway %s has %v", gateway, off)
	}
	for _, c := range []struct {
		name    string
		pending int           // level of a ticket pending at start; 0: none
		later   int           // level appended at off/2; 0: telemetry; -1: nothing
		want    time.Duration // first attempt after start
	}{
		{"level-1 pending at start", 1, -1, 0},
		{"level-2 pending at start", 2, -1, off},
		{"level-1 appended during the wait", 0, 1, off / 2},
		{"level-2 appended during the wait", 0, 2, off},
		{"telemetry appended during the wait", 0, 0, off},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ob := outbox.NewMemory()
				if c.pending > 0 {
					appendRecord(t, ob, record(t, 1, c.pending))
				}
				start := time.Now()
				l, attempts, stop := refusingLink(t, mqttlink.Options{Outbox: ob, ConnectSpread: spread})
				defer stop()
				if c.later >= 0 {
					time.Sleep(off / 2)
					r := outbox.Record{Priority: outbox.PriorityTelemetry, Payload: []byte(`{}`)}
					if c.later > 0 {
						r = record(t, 2, c.later)
					}
					appendRecord(t, ob, r)
					l.Notify()
				}
				time.Sleep(spread)
				synctest.Wait()
				if at := attempts(); len(at) == 0 || at[0].Sub(start) != c.want {
					t.Fatalf("attempts at %v after start, want the first at %v", since(start, at), c.want)
				}
			})
		})
	}
}

func appendRecord(t *testing.T, ob outbox.Outbox, r outbox.Record) {
	t.Helper()
	if _, err := ob.Append(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

func since(start time.Time, at []time.Time) []time.Duration {
	out := make([]time.Duration, len(at))
	for i, a := range at {
		out[i] = a.Sub(start)
	}
	return out
}

// pipeBroker is mochi in the bubble, reached through net.Pipe: dial is
// the link's Options.Dial; dials are its times; cut closes the broker's
// side of every connection (what a broker restart does).
type pipeBroker struct {
	srv   *mochi.Server
	mu    sync.Mutex
	at    []time.Time
	conns []net.Conn
	down  bool // refuse connections
}

func newPipeBroker(t *testing.T, hooks ...mochi.Hook) *pipeBroker {
	t.Helper()
	b := &pipeBroker{srv: mochi.New(&mochi.Options{InlineClient: true, Logger: slog.New(slog.DiscardHandler)})}
	for _, h := range append([]mochi.Hook{new(auth.AllowHook)}, hooks...) {
		if err := b.srv.AddHook(h, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.srv.Serve(); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *pipeBroker) dial(context.Context, string, string) (net.Conn, error) {
	b.mu.Lock()
	b.at = append(b.at, time.Now())
	if b.down {
		b.mu.Unlock()
		return nil, syscall.ECONNREFUSED
	}
	client, server := net.Pipe()
	b.conns = append(b.conns, server)
	b.mu.Unlock()
	go func() { _ = b.srv.EstablishConnection("pipe", server) }()
	return client, nil
}

func (b *pipeBroker) dials() []time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]time.Time(nil), b.at...)
}

// cut closes the broker's side of every connection; down then says
// whether it refuses new ones.
func (b *pipeBroker) cut(down bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.down = down
	for _, c := range b.conns {
		_ = c.Close()
	}
}

func (b *pipeBroker) up() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.down = false
}

// farGateway is a gateway id whose offset is at least 3 s of the spread,
// so a wait with and without it cannot be confused.
var farGateway = func() string {
	for i := 0; ; i++ {
		id := fmt.Sprintf("gw-330502103-test-%02d", i)
		if d := mqttlink.ConnectDelay(id, spread); d >= 3*time.Second && d < spread-time.Second {
			return id
		}
	}
}()

// runPipeLink runs a link (farGateway) against b until the returned stop is called.
func runPipeLink(t *testing.T, b *pipeBroker, ob outbox.Outbox) (l *mqttlink.Link, stop func()) {
	t.Helper()
	l, err := mqttlink.New(mqttlink.Options{Broker: "tcp://broker.test:1883", TownshipCode: township, GatewayID: farGateway,
		Outbox: ob, Dial: b.dial, ConnectSpread: spread})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	return l, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		synctest.Wait()
		_ = b.srv.Close()
	}
}

// TestBrokerDropSpreadSynctest: when the broker closes the connection (a
// restart), the link comes back after the backoff's jitter plus its
// offset.
func TestBrokerDropSpreadSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newPipeBroker(t)
		l, stop := runPipeLink(t, b, outbox.NewMemory())
		off := mqttlink.ConnectDelay(farGateway, spread)
		time.Sleep(off + time.Minute)
		synctest.Wait()
		if !l.Connected() {
			t.Fatal("not connected a minute after the offset")
		}
		drop := time.Now()
		b.cut(false)
		time.Sleep(spread + 2*time.Second)
		synctest.Wait()
		connected := l.Connected()
		stop()
		at := b.dials()
		if len(at) != 2 || !connected {
			t.Fatalf("dials at %v after the drop, connected %v; want one redial and a connection", since(drop, at), connected)
		}
		if g := at[1].Sub(drop); g < off+500*time.Millisecond || g > off+time.Second {
			t.Fatalf("redial %v after the drop, want the offset %v plus [0.5 s, 1 s]", g, off)
		}
	})
}

// TestLongOutageSlotsSynctest: after a drop, with the broker down for
// 25 s, every attempt falls on the link's slots (its first redial plus
// k × spread), and it connects at the first slot after the broker is back.
func TestLongOutageSlotsSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newPipeBroker(t)
		l, stop := runPipeLink(t, b, outbox.NewMemory())
		time.Sleep(time.Minute)
		synctest.Wait()
		b.cut(true)
		time.Sleep(25 * time.Second)
		b.up()
		back := time.Now()
		time.Sleep(2 * spread)
		synctest.Wait()
		connected := l.Connected()
		stop()
		at := b.dials()[1:]
		if len(at) < 3 || !connected {
			t.Fatalf("%d redials, connected %v; want ≥ 3 and a connection", len(at), connected)
		}
		for i, a := range at {
			if a.Sub(at[0])%spread != 0 {
				t.Errorf("redial %d at %v after the first, not on a slot (k × %v)", i+1, a.Sub(at[0]), spread)
			}
		}
		if last := at[len(at)-1]; last.Before(back) || last.Sub(back) >= spread {
			t.Errorf("connected %v after the broker was back, want its first slot, within %v", last.Sub(back), spread)
		}
	})
}

// rejectOnce withholds the PUBACK of the first ticket publish (mochi drops
// a rejected packet without acknowledging it).
type rejectOnce struct {
	mochi.HookBase
	mu   sync.Mutex
	done bool
}

func (h *rejectOnce) ID() string { return "reject-once" }

func (h *rejectOnce) Provides(b byte) bool { return b == mochi.OnPublish }

func (h *rejectOnce) OnPublish(_ *mochi.Client, pk mochipk.Packet) (mochipk.Packet, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if strings.HasSuffix(pk.TopicName, "/tickets") && !h.done {
		h.done = true
		return pk, mochipk.ErrRejectPacket
	}
	return pk, nil
}

// TestOwnRetryNotSpreadSynctest: a publish without PUBACK makes the link
// end the session itself; it reconnects after the jitter only (the broker
// did not drop anyone) and delivers the ticket.
func TestOwnRetryNotSpreadSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newPipeBroker(t, new(rejectOnce))
		ob := outbox.NewMemory()
		appendRecord(t, ob, record(t, 1, 2))
		start := time.Now()
		_, stop := runPipeLink(t, b, ob)
		time.Sleep(time.Minute)
		synctest.Wait()
		pending, err := ob.Pending(context.Background(), 10)
		stop()
		at := b.dials()
		if err != nil || len(pending) != 0 {
			t.Fatalf("pending after a minute: %d records (%v), want the ticket delivered", len(pending), err)
		}
		off := mqttlink.ConnectDelay(farGateway, spread)
		if len(at) != 2 || at[0].Sub(start) != off {
			t.Fatalf("dials at %v after start, want two, the first at the offset %v", since(start, at), off)
		}
		// The ticket was published at the first connect; no PUBACK within
		// AckTimeout (10 s) ends the session; the redial follows the jitter.
		if g := at[1].Sub(at[0]) - 10*time.Second; g < 500*time.Millisecond || g > time.Second {
			t.Fatalf("redial %v after the PUBACK timeout, want within [0.5 s, 1 s] (no offset)", g)
		}
	})
}

// TestDropDuringPublishSynctest: when the broker drops the connection while
// a publish awaits its PUBACK, the link reconnects after the jitter and its
// offset, without first waiting out AckTimeout (paho does not fail the
// publish of a persistent session on a loss).
func TestDropDuringPublishSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newPipeBroker(t, new(rejectOnce))
		ob := outbox.NewMemory()
		appendRecord(t, ob, record(t, 1, 2))
		_, stop := runPipeLink(t, b, ob)
		off := mqttlink.ConnectDelay(farGateway, spread)
		time.Sleep(off + 2*time.Second) // the ticket awaits its PUBACK
		synctest.Wait()
		drop := time.Now()
		b.cut(false)
		time.Sleep(time.Minute)
		synctest.Wait()
		pending, err := ob.Pending(context.Background(), 10)
		stop()
		at := b.dials()
		if len(at) != 2 || err != nil || len(pending) != 0 {
			t.Fatalf("dials at %v after the drop, pending %d (%v); want one redial and the ticket delivered", since(drop, at), len(pending), err)
		}
		if g := at[1].Sub(drop); g < off+500*time.Millisecond || g > off+time.Second {
			t.Fatalf("redial %v after the drop, want the offset %v plus [0.5 s, 1 s]", g, off)
		}
	})
}
