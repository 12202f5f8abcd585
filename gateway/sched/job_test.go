package sched

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// TestJobsDoNotStarvePolls: four devices at 1 s (10 ms per read) while the
// CLI keeps the queue full of jobs that each take a 300 ms timeout (a scan
// of absent ids). No poll waits for more than one job: every gap between
// two polls of a device is at most interval + one job + the other
// devices' reads; and the jobs still make progress.
func TestJobsDoNotStarvePolls(t *testing.T) {
	const job = 300 * time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		ok := func(ctx context.Context, _ []bool) ([]profile.Sample, error) {
			time.Sleep(10 * time.Millisecond)
			return nil, nil
		}
		jobs := make(chan Job)
		stopped := make(chan struct{})
		bus := Bus{Name: "b", Jobs: jobs, Transport: fakeTransport{}}
		for i := range 4 {
			bus.Devices = append(bus.Devices, Device{ID: fmt.Sprint("d", i), Interval: time.Second, Read: ok})
		}
		out := make(chan rules.Poll, 1000)
		done := make(chan error)
		go func() { done <- Run(ctx, bus, out); close(stopped) }()
		ran, cli := 0, make(chan struct{})
		go func() {
			defer close(cli)
			for {
				err := Do(ctx, jobs, stopped, func(ctx context.Context, tr transport.Transport) error {
					if _, ok := tr.(fakeTransport); !ok {
						t.Errorf("job got transport %T, want the bus's", tr)
					}
					time.Sleep(job)
					return nil
				})
				if err != nil {
					return
				}
				ran++
			}
		}()
		time.Sleep(30 * time.Second)
		cancel()
		<-done
		<-cli
		close(out)
		last := map[string]time.Time{}
		var worst time.Duration
		for p := range out {
			if prev, ok := last[p.Device]; ok {
				worst = max(worst, p.At.Sub(prev))
			}
			last[p.Device] = p.At
		}
		t.Logf("%d jobs of %v in 30 s; worst gap between polls of a device %v", ran, job, worst)
		if limit := time.Second + job + 3*10*time.Millisecond; worst > limit {
			t.Errorf("a device waited %v between polls, want ≤ interval + one job + 3 reads = %v", worst, limit)
		}
		if ran < 60 {
			t.Errorf("%d jobs ran in 30 s, want ≥ 60 (the line is mostly idle)", ran)
		}
	})
}

func TestJobOnBusWithoutDevices(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		jobs := make(chan Job)
		stopped := make(chan struct{})
		go func() { _ = Run(ctx, Bus{Name: "fresh", Jobs: jobs}, nil); close(stopped) }()
		want := errors.New("slave 3: no reply")
		err := Do(context.Background(), jobs, stopped, func(ctx context.Context, tr transport.Transport) error {
			if tr != nil {
				t.Errorf("transport %v, want nil (none given)", tr)
			}
			return want
		})
		if err != want {
			t.Fatalf("Do = %v, want the job's error", err)
		}
		cancel()
		if err := Do(context.Background(), jobs, stopped, func(context.Context, transport.Transport) error { return nil }); !errors.Is(err, ErrBusStopped) {
			t.Fatalf("after the owner stopped: %v, want ErrBusStopped", err)
		}
	})
}

// A caller that gives up cancels the job's context.
func TestJobSeesCallerCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		jobs := make(chan Job)
		go func() { _ = Run(ctx, Bus{Jobs: jobs}, nil) }()
		caller, giveUp := context.WithTimeout(context.Background(), time.Second)
		defer giveUp()
		seen := make(chan error, 1)
		err := Do(caller, jobs, nil, func(ctx context.Context, _ transport.Transport) error {
			<-ctx.Done()
			seen <- ctx.Err()
			return ctx.Err()
		})
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(<-seen, context.Canceled) {
			t.Fatalf("Do = %v; the job should see its context cancelled", err)
		}
	})
}

// fakeTransport stands for the bus's transport.
type fakeTransport struct{}

func (fakeTransport) Read(context.Context, uint8, uint8, uint16, uint16) ([]byte, error) {
	return nil, errors.New("not used")
}
func (fakeTransport) Write(context.Context, uint8, uint16, []uint16) error {
	return errors.New("not used")
}
func (fakeTransport) Close() error { return nil }
