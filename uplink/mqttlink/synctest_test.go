package mqttlink_test

import (
	"context"
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

// The first two tests here need no peer: the broker refuses every connection
// (Options.Dial), and testing/synctest runs the link's timers on a fake
// clock, so minutes of backoff and the 100 s of R25 pass at once and the
// waits are measured exactly.

// refusingLink starts Run in the bubble with a broker that refuses every
// connection; it returns the attempt times and a stop function that
// cancels Run and waits for it to return.
func refusingLink(t *testing.T, opts mqttlink.Options) (l *mqttlink.Link, attempts func() []time.Time, stop func()) {
	t.Helper()
	var mu sync.Mutex
	var at []time.Time
	opts.Broker = "tcp://broker.invalid:1883"
	opts.TownshipCode, opts.GatewayID = township, gateway
	opts.Dial = func(context.Context, string, string) (net.Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		at = append(at, time.Now())
		return nil, syscall.ECONNREFUSED
	}
	l, err := mqttlink.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	attempts = func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Time(nil), at...)
	}
	stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	return l, attempts, stop
}

// TestReconnectBackoffSynctest: with the defaults (1 s doubling to 60 s),
// each wait between refused attempts is drawn from [d/2, d] and d doubles
// up to MaxBackoff and stays there.
func TestReconnectBackoffSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, attempts, stop := refusingLink(t, mqttlink.Options{Outbox: outbox.NewMemory()})
		time.Sleep(15 * time.Minute)
		stop()
		at := attempts()
		// At least 1 s/2 + 2/2 + … + 32/2 + 60/2 per attempt after the sixth:
		// in 15 min no fewer than 20 attempts, no more than 15 min / 0.5 s.
		if len(at) < 20 {
			t.Fatalf("%d connection attempts in 15 min, want ≥ 20", len(at))
		}
		d := time.Second
		for i := 1; i < len(at); i++ {
			if gap := at[i].Sub(at[i-1]); gap < d/2 || gap > d {
				t.Errorf("attempt %d came %v after the previous, want within [%v, %v]", i+1, gap, d/2, d)
			}
			d = min(2*d, 60*time.Second)
		}
	})
}

// TestTransmissionFaultRunSynctest: Run's own watch loop (not a direct
// CheckFault call) raises R25 once a ticket has waited the default 100 s
// with the broker unreachable: not at 99 s, by the next check (every
// FaultAfter/20 = 5 s), logged and counted once however long it lasts.
func TestTransmissionFaultRunSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ob := outbox.NewMemory()
		r := record(t, 1, 1)
		r.CreatedAt = time.Now()
		if _, err := ob.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		var logs syncBuf
		l, _, stop := refusingLink(t, mqttlink.Options{Outbox: ob, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		defer stop()
		time.Sleep(99 * time.Second)
		synctest.Wait()
		if l.TransmissionFault() {
			t.Fatal("R25 raised after 99 s")
		}
		time.Sleep(6 * time.Second)
		synctest.Wait()
		if !l.TransmissionFault() || l.TransmissionFaults() != 1 {
			t.Fatalf("after 105 s: fault %v, onsets %d; want raised once", l.TransmissionFault(), l.TransmissionFaults())
		}
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if !l.TransmissionFault() || l.TransmissionFaults() != 1 {
			t.Fatalf("after 10 min more: fault %v, onsets %d; want still raised, counted once", l.TransmissionFault(), l.TransmissionFaults())
		}
		if n := strings.Count(logs.String(), "TRANSMISSION FAULT (R25)"); n != 1 {
			t.Fatalf("%d R25 log lines, want 1:\n%s", n, logs.String())
		}
	})
}

// TestHeartbeatSynctest: the retained online status is published on
// connect and then every Heartbeat (30 s by default), and the offline
// status at a clean stop. The broker is mochi, in the bubble, reached
// through a net.Pipe (Options.Dial), so its timers run on the fake clock.
func TestHeartbeatSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := mochi.New(&mochi.Options{InlineClient: true, Logger: slog.New(slog.DiscardHandler)})
		if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
			t.Fatal(err)
		}
		if err := srv.Serve(); err != nil {
			t.Fatal(err)
		}
		type status struct {
			at      time.Duration
			payload string
		}
		start := time.Now()
		var mu sync.Mutex
		var got []status
		l, err := mqttlink.New(mqttlink.Options{Broker: "tcp://broker.test:1883", TownshipCode: township, GatewayID: gateway,
			Outbox: outbox.NewMemory(), Dial: func(context.Context, string, string) (net.Conn, error) {
				client, server := net.Pipe()
				go func() { _ = srv.EstablishConnection("pipe", server) }()
				return client, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Subscribe(l.Topics().Status(), 1, func(_ *mochi.Client, _ mochipk.Subscription, pk mochipk.Packet) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, status{time.Since(start), string(pk.Payload)})
		}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- l.Run(ctx) }()
		time.Sleep(95 * time.Second)
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		synctest.Wait()
		_ = srv.Close()

		mu.Lock()
		defer mu.Unlock()
		want := []time.Duration{0, 30 * time.Second, 60 * time.Second, 90 * time.Second, 95 * time.Second}
		if len(got) != len(want) {
			t.Fatalf("%d status messages %v, want online at 0, 30, 60, 90 s and offline at 95 s", len(got), got)
		}
		for i, s := range got {
			state := `"state":"online"`
			if i == len(got)-1 {
				state = `"state":"offline"`
			}
			if s.at != want[i] || !strings.Contains(s.payload, state) {
				t.Errorf("status %d at %v: %s; want %s at %v", i+1, s.at, s.payload, state, want[i])
			}
		}
	})
}
