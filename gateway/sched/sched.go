package sched

import (
	"context"
	"errors"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// ReadFunc reads one device once over the bus's transport. Only the bus's
// owner goroutine calls it.
type ReadFunc func(ctx context.Context) ([]profile.Sample, error)

// Device is one device to poll on a bus.
type Device struct {
	ID       string
	Interval time.Duration // > 0
	Read     ReadFunc
}

// Bus is one line and its devices.
type Bus struct {
	Name    string
	Retries int // extra attempts after a failed read, within one poll
	Devices []Device
}

// Run polls bus until ctx is done, sending one rules.Poll per device sweep
// to out. Devices are polled at their own intervals, earliest due first; a
// device that falls behind is polled as soon as the line is free, without a
// burst of catch-up polls. Run returns ctx.Err().
func Run(ctx context.Context, bus Bus, out chan<- rules.Poll) error {
	if len(bus.Devices) == 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	due := make([]time.Time, len(bus.Devices))
	start := time.Now()
	for i := range due {
		due[i] = start
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		i := earliest(due)
		timer.Reset(time.Until(due[i]))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		d := bus.Devices[i]
		p := poll(ctx, d, bus.Retries)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		due[i] = next(due[i], d.Interval, time.Now())
		select {
		case out <- p:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// earliest returns the index of the smallest time.
func earliest(due []time.Time) int {
	best := 0
	for i := range due {
		if due[i].Before(due[best]) {
			best = i
		}
	}
	return best
}

// next is the next due time after a poll that was due at prev: one interval
// later, or now if the line is so busy that this is already past.
func next(prev time.Time, interval time.Duration, now time.Time) time.Time {
	n := prev.Add(interval)
	if n.Before(now) {
		return now
	}
	return n
}

// poll reads a device, retrying a failed read up to retries times.
func poll(ctx context.Context, d Device, retries int) rules.Poll {
	var err error
	for attempt := 0; attempt <= retries; attempt++ {
		var samples []profile.Sample
		samples, err = d.Read(ctx)
		if err == nil {
			return rules.Poll{Device: d.ID, At: time.Now(), OK: true, Readings: ToReadings(samples)}
		}
		if ctx.Err() != nil {
			break
		}
	}
	if err == nil {
		err = errors.New("no answer")
	}
	return rules.Poll{Device: d.ID, At: time.Now(), OK: false, Err: err.Error()}
}

// ToReadings converts a device's decoded samples into rule readings.
func ToReadings(samples []profile.Sample) []rules.Reading {
	out := make([]rules.Reading, len(samples))
	for i, s := range samples {
		q := rules.Good
		if s.Absent {
			q = rules.Absent
		}
		out[i] = rules.Reading{Point: s.Point, Value: s.Value, Unit: s.Unit, Quality: q}
	}
	return out
}
