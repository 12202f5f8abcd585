package sched

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// groupReader records each read's time and due groups and answers one
// sample "g<i>" per due group, or a timeout while dead reports true.
type groupReader struct {
	mu    sync.Mutex
	start time.Time
	at    []time.Duration
	due   [][]bool
	dead  func(time.Duration) bool
}

func (r *groupReader) read(ctx context.Context, due []bool) ([]profile.Sample, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Since(r.start)
	r.at = append(r.at, now)
	r.due = append(r.due, slices.Clone(due))
	if r.dead != nil && r.dead(now) {
		time.Sleep(300 * time.Millisecond) // the request timeout
		return nil, fmt.Errorf("slave 1: %w", transport.ErrTimeout)
	}
	var out []profile.Sample
	for g, ok := range due {
		if ok {
			out = append(out, profile.Sample{Point: fmt.Sprint("g", g)})
		}
	}
	return out, nil
}

func points(p rules.Poll) []string {
	var names []string
	for _, r := range p.Readings {
		names = append(names, r.Point)
	}
	return names
}

// TestGroupsReadOnTheirTurns: groups every 1, 5 and 60 turns of 1 s; a
// poll that carries a slow group carries the faster ones.
func TestGroupsReadOnTheirTurns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		r := &groupReader{start: time.Now()}
		out := make(chan rules.Poll, 100)
		done := make(chan error)
		go func() {
			done <- Run(ctx, Bus{Devices: []Device{{ID: "d", Interval: time.Second, Every: []int{1, 5, 60}, Read: r.read}}}, out)
		}()
		time.Sleep(10500 * time.Millisecond)
		cancel()
		<-done
		close(out)
		var got []string
		for p := range out {
			got = append(got, fmt.Sprintf("%v %v", p.At.Sub(r.start), points(p)))
		}
		want := []string{"0s [g0 g1 g2]", "1s [g0]", "2s [g0]", "3s [g0]", "4s [g0]", "5s [g0 g1]",
			"6s [g0]", "7s [g0]", "8s [g0]", "9s [g0]", "10s [g0 g1]"}
		if !slices.Equal(got, want) {
			t.Fatalf("polls\n got %q\nwant %q", got, want)
		}
	})
}

// TestGroupsShareTheDeviceBackoff: a device that stops answering backs off
// as one device (one attempt per backoff step, whatever its groups), and
// its first poll after coming back reads every group.
func TestGroupsShareTheDeviceBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		r := &groupReader{start: time.Now()}
		r.dead = func(at time.Duration) bool { return at >= 3*time.Second && at < 20*time.Second }
		out := make(chan rules.Poll, 100)
		done := make(chan error)
		go func() {
			done <- Run(ctx, Bus{Retries: 1, Devices: []Device{{ID: "d", Interval: time.Second, Every: []int{1, 5}, Read: r.read}}}, out)
		}()
		time.Sleep(39500 * time.Millisecond)
		cancel()
		<-done
		// Answers at 0, 1, 2 s; at 3 s (turn 3: group 0 only) a timeout and
		// its retry; then one attempt at 5, 9, 17 s (backoff 2, 4, 8 s from
		// the poll due at 3 s), each for every group; back at 33 s, then
		// turns of 1 s with group 1 every 5th from there.
		s := time.Second
		wantAt := []time.Duration{0, s, 2 * s, 3 * s, 3300 * time.Millisecond, 5 * s, 9 * s, 17 * s, 33 * s,
			34 * s, 35 * s, 36 * s, 37 * s, 38 * s, 39 * s}
		if !slices.Equal(r.at, wantAt) {
			t.Fatalf("reads at %v\nwant %v", r.at, wantAt)
		}
		for i, at := range r.at {
			all := at == 0 || (at >= 5*s && at <= 33*s) || at == 38*s
			if r.due[i][1] != all || !r.due[i][0] {
				t.Errorf("read at %v: due %v, want group 1 %v", at, r.due[i], all)
			}
		}
	})
}

// TestDeadDeviceKeepsHealthyTurnsWithGroups is the fairness test with read
// groups: 31 healthy devices at 1 s whose reads cost 10 ms per due group
// (status every turn, analog values every 5th, energy every 60th) and a
// dead device (300 ms timeout, 2 retries), over 60 s of fake time. The
// work of a turn now varies (310 ms, 620 ms on every 5th turn, 930 ms on
// the first, plus the dead device's timeout), and the gap between two
// polls of a device varies with it: at most the interval, one timeout and
// the extra group work of one turn (the other devices' second group, 31 ×
// 10 ms). No healthy device loses a turn, not even to the start-up burst
// (every group of every device plus three timeouts: 1.83 s of line time).
func TestDeadDeviceKeepsHealthyTurnsWithGroups(t *testing.T) {
	const timeout, extra = 300 * time.Millisecond, 31 * 10 * time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		ok := func(ctx context.Context, due []bool) ([]profile.Sample, error) {
			for _, d := range due {
				if d {
					time.Sleep(10 * time.Millisecond)
				}
			}
			return []profile.Sample{{Point: "status"}}, nil
		}
		dead := &groupReader{start: time.Now(), dead: func(time.Duration) bool { return true }}
		every := []int{1, 5, 60}
		bus := Bus{Name: "b", Retries: 2, Devices: []Device{{ID: "dead", Interval: time.Second, Every: every, Read: dead.read}}}
		for i := range 31 {
			bus.Devices = append(bus.Devices, Device{ID: fmt.Sprint("ok", i), Interval: time.Second, Every: every, Read: ok})
		}
		out := make(chan rules.Poll, 10000)
		done := make(chan error)
		go func() { done <- Run(ctx, bus, out) }()
		time.Sleep(60*time.Second - time.Millisecond)
		cancel()
		<-done
		close(out)
		polls := map[string]int{}
		var gap time.Duration
		last := map[string]time.Time{}
		for p := range out {
			if p.Device == "dead" {
				continue
			}
			if prev, ok := last[p.Device]; ok {
				gap = max(gap, p.At.Sub(prev))
			}
			last[p.Device] = p.At
			polls[p.Device]++
		}
		fewest := 60
		for _, n := range polls {
			fewest = min(fewest, n)
		}
		t.Logf("healthy: worst gap %v, fewest polls %d in 60 s; dead device: %d attempts at %v", gap, fewest, len(dead.at), dead.at)
		if gap > time.Second+timeout+extra {
			t.Errorf("a healthy device waited %v between polls, want ≤ interval + one timeout + one turn's extra groups (%v)", gap, time.Second+timeout+extra)
		}
		if len(polls) != 31 || fewest != 60 {
			t.Errorf("%d healthy devices polled, the fewest %d times in 60 s; want 31, each 60 times", len(polls), fewest)
		}
		if len(dead.at) != 7 {
			t.Errorf("dead device: %d attempts, want 7 (3 at start-up, then 2, 6, 14, 30 s after)", len(dead.at))
		}
	})
}
