package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func startLimits(t *testing.T, h Handlers, lim Limits) (*Server, string) {
	t.Helper()
	path := sockPath(t)
	s, err := ListenLimits(path, h, lim)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// readAll reads c until the server closes it, within a generous bound.
func readAll(t *testing.T, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Errorf("connection not closed by the server: %v (read %q)", err, b)
	}
	return string(b)
}

// TestIdleFloodIsCappedAndClosed: 500 connections that send nothing. At
// most MaxConns are ever served at once, the others are told so at once,
// every one is closed by the server after the idle timeout, and the API
// answers afterwards.
func TestIdleFloodIsCappedAndClosed(t *testing.T) {
	const max, flood = 8, 500
	s, path := startLimits(t, handlers(), Limits{IdleTimeout: 500 * time.Millisecond, MaxConns: max})
	var peak atomic.Int64
	stop := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(1)
	go func() { // the cap is sampled while the flood runs
		defer watch.Done()
		for {
			if n := int64(s.Conns().Active); n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-stop:
				return
			default:
				time.Sleep(time.Millisecond) // the sampling period of the peak, not a wait
			}
		}
	}()
	conns := make([]net.Conn, 0, flood)
	for range flood {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatalf("dial %d: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	refused := 0
	for _, c := range conns {
		if got := readAll(t, c); strings.HasPrefix(got, "HTTP/1.1 503") {
			refused++
			if !strings.Contains(got, "too many connections to the local API (8 served at once)") {
				t.Fatalf("refusal without a clear reason: %q", got)
			}
		} else if got != "" {
			t.Fatalf("an idle connection got %q, want nothing or the 503", got)
		}
		c.Close()
	}
	close(stop)
	watch.Wait()
	if p := peak.Load(); p > max {
		t.Errorf("%d connections served at once, want at most %d", p, max)
	}
	// Beyond the refusals told at once (maxRefusing), a refused connection
	// is closed without a word: the server counts every refusal.
	if refused == 0 || uint64(refused) > s.Conns().Refused || s.Conns().Refused < uint64(flood-max) {
		t.Errorf("%d connections told they were refused (server counted %d), want the flood beyond %d refused", refused, s.Conns().Refused, max)
	}
	waitFor(t, "every slot given back", func() bool { return s.Conns().Active == 0 })
	if _, err := NewClient(path).Status(t.Context()); err != nil {
		t.Errorf("after the flood: %v", err)
	}
}

// TestRefusalReachesTheClient: the 503 is read by the client as an error
// saying why.
func TestRefusalReachesTheClient(t *testing.T) {
	_, path := startLimits(t, handlers(), Limits{MaxConns: 1})
	hold, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	var err2 error
	waitFor(t, "the held connection to take the one slot", func() bool {
		_, err2 = NewClient(path).Status(t.Context())
		return err2 != nil
	})
	if !strings.Contains(err2.Error(), "too many connections to the local API") {
		t.Errorf("client error %v, want the daemon's reason", err2)
	}
}

// TestKeepAliveIdleIsClosed: a client that sent one request and then
// holds the connection open is closed after the idle timeout.
func TestKeepAliveIdleIsClosed(t *testing.T) {
	_, path := startLimits(t, handlers(), Limits{IdleTimeout: 200 * time.Millisecond})
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET /v1/status HTTP/1.1\r\nHost: fenghuo\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("status: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	readAll(t, c)
}

// TestRequestBodyRefused: no endpoint takes a body; one that never comes
// does not hold the connection.
func TestRequestBodyRefused(t *testing.T) {
	h := handlers()
	h.TestAlarm = func(context.Context, string) (TestAlarm, error) { return TestAlarm{}, nil }
	_, path := startLimits(t, h, Limits{IdleTimeout: 200 * time.Millisecond})
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "POST /v1/test-alarm?device=x HTTP/1.1\r\nHost: fenghuo\r\nContent-Length: 100000\r\n\r\nabc")
	if got := readAll(t, c); !strings.Contains(got, " 413 ") || !strings.Contains(got, "takes no request body") {
		t.Errorf("a request with a body: %q, want 413", got)
	}
}

func TestTestAlarmRateLimit(t *testing.T) {
	var mu sync.Mutex
	now := at
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	committed := 0
	h := handlers()
	h.TestAlarm = func(_ context.Context, dev string) (TestAlarm, error) {
		if dev != "smoke-1" {
			return TestAlarm{}, fmt.Errorf("device %q: %w", dev, ErrNotFound)
		}
		committed++
		return TestAlarm{Device: dev, Seq: uint64(committed)}, nil
	}
	_, path := startLimits(t, h, Limits{TestAlarmsPerMinute: 3, Now: clock})
	c := NewClient(path)
	for i := range 3 {
		if _, err := c.TestAlarm(t.Context(), "nope"); !strings.Contains(fmt.Sprint(err), "not found") {
			t.Fatalf("unknown device: %v", err)
		}
		if _, err := c.TestAlarm(t.Context(), "smoke-1"); err != nil {
			t.Fatalf("test alarm %d of 3: %v", i+1, err)
		}
	}
	mu.Lock()
	now = now.Add(20 * time.Second)
	mu.Unlock()
	_, err := c.TestAlarm(t.Context(), "smoke-1")
	if err == nil || !strings.Contains(err.Error(), "at most 3 test alarms a minute per gateway") || !strings.Contains(err.Error(), "allowed in 40 s") {
		t.Fatalf("fourth within a minute: %v, want a refusal saying the limit and the wait", err)
	}
	if committed != 3 {
		t.Fatalf("%d committed, want 3", committed)
	}
	mu.Lock()
	now = now.Add(40 * time.Second)
	mu.Unlock()
	if _, err := c.TestAlarm(t.Context(), "smoke-1"); err != nil {
		t.Errorf("a minute after the first: %v", err)
	}
}

func TestTraceSecondsMustBeFinite(t *testing.T) {
	h := handlers()
	called := false
	h.Bus.Trace = func(context.Context, string, time.Duration, func(StreamEvent) error) error {
		called = true
		return nil
	}
	_, path := startLimits(t, h, Limits{})
	c := NewClient(path)
	for _, s := range []string{"NaN", "nan", "Inf", "+Inf", "-Inf", "infinity", "1e400", "0", "-1", "3601", "", "x"} {
		err := c.events(t.Context(), "/v1/bus/trace?bus=rs485-1&seconds="+s, func(StreamEvent) {})
		var re *RejectedError
		if !errors.As(err, &re) || !strings.Contains(re.Msg, "seconds") {
			t.Errorf("seconds=%s: %v, want a 400 naming seconds", s, err)
		}
	}
	if called {
		t.Error("the trace ran with a bad duration")
	}
	if v, err := finite("seconds", "0.5", 0, 3600); err != nil || v != 0.5 {
		t.Errorf("finite(0.5) = %v, %v", v, err)
	}
	if _, err := finite("x", fmt.Sprint(math.NaN()), math.Inf(-1), math.Inf(1)); err == nil {
		t.Error("finite accepted NaN with infinite bounds")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
