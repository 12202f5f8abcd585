package sched

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// TestLineBackPollsEveryDeviceAtOnce: the line is down from the start
// until 20 s (every read fails with ErrLineDown, without a retry), so the
// three devices back off; the first answer after the line returns makes
// the others due at once, not at the end of their backoff.
func TestLineBackPollsEveryDeviceAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var mu sync.Mutex
		reads := map[string][]time.Duration{}
		read := func(id string) ReadFunc {
			return func(ctx context.Context, _ []bool) ([]profile.Sample, error) {
				mu.Lock()
				defer mu.Unlock()
				now := time.Since(start)
				reads[id] = append(reads[id], now)
				if now < 20*time.Second {
					return nil, fmt.Errorf("modbus tcp 127.0.0.1:502: %w: connection refused", transport.ErrLineDown)
				}
				return []profile.Sample{{Point: "status"}}, nil
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		out := make(chan rules.Poll, 200)
		done := make(chan error)
		go func() {
			done <- Run(ctx, Bus{Retries: 2, Devices: []Device{
				{ID: "a", Interval: 700 * time.Millisecond, Read: read("a")},
				{ID: "b", Interval: time.Second, Read: read("b")},
				{ID: "c", Interval: time.Second, Read: read("c")},
			}}, out)
		}()
		time.Sleep(40 * time.Second)
		cancel()
		<-done
		// No retry of a line that is down, only the backoff: b at 0, 2, 6,
		// 14 s while down, next due at 30 s; a (0.7 s) at 0, 1.4, 4.2, 9.8 s,
		// next at 21 s.
		if got := reads["b"][:4]; fmt.Sprint(got) != "[0s 2s 6s 14s]" {
			t.Errorf("b read at %v while the line was down, want [0s 2s 6s 14s] (backoff, no retries)", got)
		}
		firstAfter := func(id string) time.Duration {
			for _, at := range reads[id] {
				if at >= 20*time.Second {
					return at
				}
			}
			return -1
		}
		a := firstAfter("a")
		if a != 21*time.Second {
			t.Fatalf("a: first read after the line returned at %v, want 21s: %v", a, reads["a"])
		}
		// a's answer shows the line is back: b and c are read at once, not
		// at 30 s when their backoff ends.
		for _, id := range []string{"b", "c"} {
			if at := firstAfter(id); at != a {
				t.Errorf("%s: first read after the line returned at %v, want %v (right after a's answer): %v", id, at, a, reads[id])
			}
		}
	})
}
