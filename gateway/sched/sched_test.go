package sched

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/rules"
)

func TestRunPollsEachDeviceAtItsInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		out := make(chan rules.Poll, 100)
		ok := func(ctx context.Context, _ []bool) ([]profile.Sample, error) {
			time.Sleep(10 * time.Millisecond) // a transaction on the wire
			return []profile.Sample{{Point: "status", Value: 2}}, nil
		}
		bus := Bus{Name: "b", Devices: []Device{
			{ID: "fast", Interval: 500 * time.Millisecond, Read: ok},
			{ID: "slow", Interval: 2 * time.Second, Read: ok},
		}}
		done := make(chan error)
		go func() { done <- Run(ctx, bus, out) }()
		time.Sleep(4*time.Second - time.Millisecond)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v, want context.Canceled", err)
		}
		close(out)
		count := map[string]int{}
		for p := range out {
			if !p.OK || len(p.Readings) != 1 || p.Readings[0].Value != 2 {
				t.Fatalf("unexpected poll %+v", p)
			}
			count[p.Device]++
		}
		// 0, 0.5, …, 3.5 s → 8 fast polls; 0, 2 s → 2 slow polls.
		if count["fast"] != 8 || count["slow"] != 2 {
			t.Fatalf("polls per device = %v, want fast 8, slow 2", count)
		}
	})
}

func TestRunReportsFailureAfterRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		calls := 0
		fail := func(ctx context.Context, _ []bool) ([]profile.Sample, error) {
			calls++
			time.Sleep(300 * time.Millisecond) // the request timeout
			return nil, errors.New("slave 2: timeout")
		}
		out := make(chan rules.Poll)
		go func() {
			_ = Run(ctx, Bus{Name: "b", Retries: 2, Devices: []Device{{ID: "dead", Interval: time.Second, Read: fail}}}, out)
		}()
		p := <-out
		if p.OK || p.Err != "slave 2: timeout" || p.Device != "dead" {
			t.Fatalf("poll = %+v, want a failure with the read's error", p)
		}
		if calls != 3 {
			t.Fatalf("read called %d times, want 1 + 2 retries", calls)
		}
	})
}

func TestToReadingsMarksAbsent(t *testing.T) {
	got := ToReadings([]profile.Sample{{Point: "t1", Value: 41.5, Unit: "°C"}, {Point: "t3", Value: -200, Unit: "°C", Absent: true}})
	want := []rules.Reading{{Point: "t1", Value: 41.5, Unit: "°C", Quality: rules.Good}, {Point: "t3", Value: -200, Unit: "°C", Quality: rules.Absent}}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("reading %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
