package mqttlink_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestTransmissionFaultAfter100s: with the default threshold and an
// injected clock, R25 is raised once a ticket has waited 100 s without a
// PUBACK — not at 99 s — and logged and counted once.
func TestTransmissionFaultAfter100s(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)}
	ob := outbox.NewMemory()
	var logs syncBuf
	l, err := mqttlink.New(mqttlink.Options{Broker: "tcp://127.0.0.1:1", TownshipCode: township, GatewayID: gateway,
		Outbox: ob, Now: clock.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r := record(t, 1, 1)
	r.CreatedAt = clock.Now()
	if _, err := ob.Append(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	clock.Add(99 * time.Second)
	if l.CheckFault(ctx) {
		t.Fatal("R25 raised after 99 s")
	}
	clock.Add(time.Second)
	if !l.CheckFault(ctx) || !l.CheckFault(ctx) || !l.TransmissionFault() || l.TransmissionFaults() != 1 {
		t.Fatalf("after 100 s: fault %v, onsets %d; want raised once", l.TransmissionFault(), l.TransmissionFaults())
	}
	if n := strings.Count(logs.String(), "TRANSMISSION FAULT (R25)"); n != 1 {
		t.Fatalf("%d R25 log lines, want 1:\n%s", n, logs.String())
	}
	// Delivered: the fault clears itself.
	if err := ob.MarkSent(ctx, clock.Now(), 1); err != nil {
		t.Fatal(err)
	}
	if l.CheckFault(ctx) || !strings.Contains(logs.String(), "transmission fault cleared") {
		t.Fatalf("fault not cleared after delivery:\n%s", logs.String())
	}
}

// TestTransmissionFaultAgainstMosquitto: the broker is down while a ticket
// waits → R25; the broker returns → the ticket is delivered, the fault
// clears and the status says transmission_fault false again.
func TestTransmissionFaultAgainstMosquitto(t *testing.T) {
	b := mqtttest.StartMosquitto(t)
	b.Stop()
	ob := outbox.NewMemory()
	if _, err := ob.Append(context.Background(), record(t, 1, 1)); err != nil {
		t.Fatal(err)
	}
	l, _ := start(t, mqttlink.Options{Broker: b.URL(), Outbox: ob, FaultAfter: 300 * time.Millisecond,
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	waitUntil(t, "R25 while the broker is down", 10*time.Second, l.TransmissionFault)
	b.Start()
	waitUntil(t, "the ticket delivered", 15*time.Second, func() bool {
		st, err := ob.Stats(context.Background())
		return err == nil && st.Depth == 0
	})
	waitUntil(t, "R25 cleared", 5*time.Second, func() bool { return !l.TransmissionFault() })
	if l.TransmissionFaults() != 1 {
		t.Fatalf("onsets %d, want 1", l.TransmissionFaults())
	}
	reply := mqtttest.Subscribe(t, b.URL(), topics.Reply())
	pub(t, b.URL())(topics.Cmd(), false, []byte(`{"id":"d","cmd":"diag"}`))
	r := replies(t, reply.WaitUntil("diag", 10*time.Second, hasReplies("d")))["d"]
	st, err := ticket.ParseStatus(r.Status)
	if err != nil || st.TransmissionFault {
		t.Fatalf("status after recovery: %s %v", r.Status, err)
	}
}
