package daemon

import (
	"context"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/transport"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/busdiag"
	"github.com/fenghuo-iot/fenghuo/gateway/sched"
)

// busDiag is one bus's door for the local API's bus endpoints: the job
// queue into its owner (sched.Bus.Jobs) and its frame tracer.
type busDiag struct {
	jobs    chan sched.Job
	stopped chan struct{} // closed when the owner has stopped
	trace   busdiag.Tracer
}

func newBusDiag() *busDiag {
	return &busDiag{jobs: make(chan sched.Job), stopped: make(chan struct{})}
}

// openBus opens a bus's transport with the tracer's hook.
func (bd *busDiag) openBus(b busPlan) (transport.Transport, error) {
	return busdiag.Open(b.cfg, bd.trace.Hook(b.cfg))
}

// run is the Runner of bus work through the owner's queue.
func (bd *busDiag) run(ctx context.Context, fn sched.JobFunc) error {
	return sched.Do(ctx, bd.jobs, bd.stopped, fn)
}

// busRunner is the runner of the named bus's owner (control writes).
func (d *Daemon) busRunner(name string) (busdiag.Runner, error) {
	bd, err := d.bus(name)
	if err != nil {
		return nil, err
	}
	return bd.run, nil
}

func (d *Daemon) busHandlers() api.BusHandlers {
	return api.BusHandlers{Read: d.apiRead, Scan: d.apiScan, Trace: d.apiTrace}
}

// bus returns the named bus's door, or a rejection naming the buses.
func (d *Daemon) bus(name string) (*busDiag, error) {
	buses, _ := d.busState()
	names := make([]string, 0, len(buses))
	for _, b := range buses {
		if b.cfg.Name == name {
			return b.diag, nil
		}
		names = append(names, b.cfg.Name)
	}
	if name == "" {
		return nil, api.Reject("which bus? (buses: %s)", strings.Join(names, ", "))
	}
	return nil, api.Reject("bus %q is not configured (buses: %s)", name, strings.Join(names, ", "))
}

func (d *Daemon) apiRead(ctx context.Context, req api.ReadRequest) (api.ReadResult, error) {
	var res api.ReadResult
	if req.Device != "" {
		_, devices := d.busState()
		ds := devices[req.Device]
		if ds == nil {
			cfg := d.loop.Config()
			ids := make([]string, 0, len(cfg.Devices))
			for _, dc := range cfg.Devices {
				ids = append(ids, dc.ID)
			}
			return res, api.Reject("device %q is not configured (devices: %s)", req.Device, strings.Join(ids, ", "))
		}
		if err := busdiag.CheckDeviceRead(ds.profile, req.Point); err != nil {
			return res, err
		}
		bd, err := d.bus(ds.cfg.Bus)
		if err != nil {
			return res, err
		}
		return busdiag.ReadDevice(ctx, bd.run, ds.cfg, ds.profile, req.Point)
	}
	bd, err := d.bus(req.Bus)
	if err != nil {
		return res, err
	}
	if err := busdiag.CheckRawRead(req.Slave, req.FC, req.Addr, req.Count); err != nil {
		return res, err
	}
	return busdiag.ReadRaw(ctx, bd.run, req.Bus, req.Slave, req.FC, req.Addr, req.Count)
}

func (d *Daemon) apiScan(ctx context.Context, req api.ScanRequest, emit func(api.StreamEvent) error) error {
	bd, err := d.bus(req.Bus)
	if err != nil {
		return err
	}
	if err := busdiag.CheckScan(req.From, req.To); err != nil {
		return err
	}
	if err := emit(api.StreamEvent{Type: "start"}); err != nil {
		return err
	}
	d.log.Info("diag scan", "bus", req.Bus, "from", req.From, "to", req.To)
	_, err = busdiag.Scan(ctx, req, d.opts.Profiles, bd.run, emit)
	return err
}

func (d *Daemon) apiTrace(ctx context.Context, bus string, dur time.Duration, emit func(api.StreamEvent) error) error {
	bd, err := d.bus(bus)
	if err != nil {
		return err
	}
	frames, stop := bd.trace.Follow()
	defer stop()
	if err := emit(api.StreamEvent{Type: "start"}); err != nil {
		return err
	}
	end := time.NewTimer(dur)
	defer end.Stop()
	for {
		select {
		case f := <-frames:
			if err := emit(api.StreamEvent{Type: "frame", Frame: &f}); err != nil {
				return nil // the client went away
			}
		case <-end.C:
			return nil
		case <-ctx.Done():
			return nil
		case <-bd.stopped:
			return nil
		}
	}
}
