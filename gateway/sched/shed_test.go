package sched

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/linebudget"
	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// pacedLine is a 9600-baud 8N1 line in fake time: a read of the due groups
// takes the wire time drivers/linebudget computes for their requests (t3.5,
// request, 5 ms turnaround, reply). groups are one device's reads, by group.
type pacedLine struct {
	wire  [][]time.Duration // per group, the wire time of each of its reads
	reads map[string][]readAt
}

type readAt struct {
	at  time.Duration
	due []bool
}

// An electrical-fire detector's plan (electrical-fire-1p): fc3 @0+3 every
// 1 s (status and alarm words); @16+20 and @48+10 every 5 s.
func efdLine(t *testing.T) *pacedLine {
	reads := []linebudget.Read{
		{Device: "d", FC: 3, Count: 3, Interval: time.Second, First: true},
		{Device: "d", FC: 3, Count: 20, Interval: 5 * time.Second},
		{Device: "d", FC: 3, Count: 10, Interval: 5 * time.Second},
	}
	b, err := linebudget.Compute(linebudget.Line{Name: "paced", Baud: 9600}, reads)
	if err != nil {
		t.Fatal(err)
	}
	return &pacedLine{
		wire:  [][]time.Duration{{b.Costs[0].Wire}, {b.Costs[1].Wire, b.Costs[2].Wire}},
		reads: map[string][]readAt{},
	}
}

func (l *pacedLine) device(id string, start time.Time) Device {
	return Device{ID: id, Interval: time.Second, Every: []int{1, 5}, Read: func(ctx context.Context, due []bool) ([]profile.Sample, error) {
		l.reads[id] = append(l.reads[id], readAt{time.Since(start), append([]bool(nil), due...)})
		for g, on := range due {
			if on {
				for _, w := range l.wire[g] {
					time.Sleep(w)
				}
			}
		}
		return []profile.Sample{{Point: "status"}}, nil
	}}
}

// TestOverloadedLineKeepsStatusWordsOnTime: 24 electrical-fire detectors on
// a paced 9600-baud line ask for 113 % of it (status words 69 %, the 5 s
// groups 44 %). Over 120 s of fake time every device's status words are
// still read about every second, and the slow groups, shed on late turns,
// are still read at least every 2 × 5 s.
func TestOverloadedLineKeepsStatusWordsOnTime(t *testing.T) {
	const devices, run = 24, 120 * time.Second
	synctest.Test(t, func(t *testing.T) {
		line := efdLine(t)
		ctx, cancel := context.WithCancel(context.Background())
		start := time.Now()
		bus := Bus{Name: "paced"}
		var load float64
		for i := range devices {
			bus.Devices = append(bus.Devices, line.device(fmt.Sprintf("efd-%02d", i+1), start))
		}
		for g, ws := range line.wire {
			for _, w := range ws {
				load += float64(devices) * float64(w) / float64(time.Second*time.Duration(bus.Devices[0].Every[g]))
			}
		}
		if load < 1.05 {
			t.Fatalf("the case asks for %.0f%% of the line: it must be overloaded", 100*load)
		}
		out := make(chan rules.Poll, 1<<16)
		done := make(chan error)
		go func() { done <- Run(ctx, bus, out) }()
		time.Sleep(run)
		cancel()
		<-done
		for id, rs := range line.reads {
			status := len(rs)
			var worstSlow, last time.Duration
			for _, r := range rs {
				if r.due[1] {
					worstSlow = max(worstSlow, r.at-last)
					last = r.at
				}
			}
			worstSlow = max(worstSlow, run-last)
			if mean := run / time.Duration(status); mean > 1050*time.Millisecond {
				t.Errorf("%s: status words read %d times in %v (every %v): want about every second", id, status, run, mean)
			}
			if worstSlow > 11*time.Second {
				t.Errorf("%s: a 5 s group waited %v: want at most 2 × 5 s and a turn", id, worstSlow)
			}
		}
		t.Logf("line asked for %.0f%%; %s read %d times in %v", 100*load, "efd-01", len(line.reads["efd-01"]), run)
	})
}
