package sched

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbus"
	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// TestDeadDeviceKeepsHealthyIntervals: 31 healthy devices at 1 s (10 ms per
// transaction) and one dead device whose reads take the 300 ms timeout, with
// 2 retries, over 60 s of fake time.
func TestDeadDeviceKeepsHealthyIntervals(t *testing.T) {
	const timeout = 300 * time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		ok := func(ctx context.Context, _ []bool) ([]profile.Sample, error) {
			time.Sleep(10 * time.Millisecond)
			return []profile.Sample{{Point: "status", Value: 0}}, nil
		}
		var deadAt []time.Duration
		start := time.Now()
		dead := func(ctx context.Context, _ []bool) ([]profile.Sample, error) {
			deadAt = append(deadAt, time.Since(start))
			time.Sleep(timeout)
			return nil, fmt.Errorf("slave 32: %w", transport.ErrTimeout)
		}
		bus := Bus{Name: "b", Retries: 2}
		bus.Devices = append(bus.Devices, Device{ID: "dead", Interval: time.Second, Read: dead})
		for i := range 31 {
			bus.Devices = append(bus.Devices, Device{ID: fmt.Sprint("ok", i), Interval: time.Second, Read: ok})
		}
		out := make(chan rules.Poll, 10000)
		done := make(chan error)
		go func() { done <- Run(ctx, bus, out) }()
		time.Sleep(60 * time.Second)
		cancel()
		<-done
		close(out)
		last := map[string]time.Time{}
		var worst time.Duration
		deadPolls := 0
		for p := range out {
			if p.Device == "dead" {
				if p.OK {
					t.Fatalf("dead device answered: %+v", p)
				}
				deadPolls++
				continue
			}
			if prev, ok := last[p.Device]; ok {
				worst = max(worst, p.At.Sub(prev))
			}
			last[p.Device] = p.At
		}
		t.Logf("healthy max interval %v; dead device: %d attempts at %v, %d failed polls", worst, len(deadAt), deadAt, deadPolls)
		if worst > time.Second+timeout {
			t.Errorf("a healthy device waited %v between polls, want ≤ interval + one timeout (%v)", worst, time.Second+timeout)
		}
		// Polls due at 0 (1 + 2 retries), then 2, 6, 14, 30 s (backoff 2, 4,
		// 8, 16 s, no retries while failing), then every 30 s; the attempt due at
		// 60 s starts as the test ends and is not counted.
		before := 0
		for _, a := range deadAt {
			if a < 60*time.Second {
				before++
			}
		}
		if before != 7 || deadPolls != 5 {
			t.Errorf("dead device: %d attempts before 60 s in %d polls, want 7 in 5", before, deadPolls)
		}
	})
}

func TestBackoffResetsOnAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var mu sync.Mutex
		alive := false
		var at []time.Duration
		start := time.Now()
		read := func(ctx context.Context, _ []bool) ([]profile.Sample, error) {
			mu.Lock()
			defer mu.Unlock()
			at = append(at, time.Since(start))
			if !alive {
				return nil, errors.New("timeout")
			}
			return nil, nil
		}
		reads := func() []time.Duration {
			synctest.Wait()
			mu.Lock()
			defer mu.Unlock()
			return append([]time.Duration(nil), at...)
		}
		out := make(chan rules.Poll, 100)
		go func() { _ = Run(ctx, Bus{Devices: []Device{{ID: "d", Interval: time.Second, Read: read}}}, out) }()
		time.Sleep(6500 * time.Millisecond) // failures at 0, 2, 6 s
		mu.Lock()
		alive = true
		mu.Unlock()
		time.Sleep(8 * time.Second) // next due at 14 s, then every second
		want := []time.Duration{0, 2 * time.Second, 6 * time.Second, 14 * time.Second}
		if got := reads(); len(got) != len(want) || got[3] != want[3] {
			t.Fatalf("reads at %v, want %v", got, want)
		}
		time.Sleep(3 * time.Second)
		if got := reads(); len(got) != len(want)+3 || got[len(got)-1] != 17*time.Second {
			t.Fatalf("after the answer reads at %v, want every second from 14 s", got)
		}
	})
}

func TestExceptionIsNotRetriedNorBackedOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		calls := 0
		read := func(ctx context.Context, _ []bool) ([]profile.Sample, error) {
			calls++
			return nil, fmt.Errorf("slave 2 @0: %w", &modbus.Exception{Func: 3, Code: modbus.IllegalDataAddress})
		}
		out := make(chan rules.Poll, 100)
		go func() {
			_ = Run(ctx, Bus{Retries: 2, Devices: []Device{{ID: "d", Interval: time.Second, Read: read}}}, out)
		}()
		time.Sleep(2500 * time.Millisecond)
		synctest.Wait()
		if calls != 3 || len(out) != 3 {
			t.Fatalf("%d reads, %d polls in 2.5 s; want 3 and 3 (no retry, no backoff)", calls, len(out))
		}
		if p := <-out; p.OK || p.Err == "" {
			t.Fatalf("poll = %+v, want a failed poll with the exception", p)
		}
	})
}

func TestBackoffCap(t *testing.T) {
	for _, c := range []struct {
		interval time.Duration
		fails    int
		want     time.Duration
	}{
		{time.Second, 0, time.Second}, {time.Second, 1, 2 * time.Second}, {time.Second, 4, 16 * time.Second},
		{time.Second, 5, 30 * time.Second}, {time.Second, 50, 30 * time.Second},
		{20 * time.Second, 1, 30 * time.Second}, {time.Minute, 3, time.Minute},
	} {
		if got := backoff(c.interval, c.fails); got != c.want {
			t.Errorf("backoff(%v, %d) = %v, want %v", c.interval, c.fails, got, c.want)
		}
	}
}
