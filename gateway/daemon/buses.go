package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/device"
	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/engine"
	"github.com/fenghuo-iot/fenghuo/gateway/sched"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// confirmQueue is how many confirmation reads a bus's owner may have
// waiting; one more is dropped, which only means the alarm is confirmed
// by the device's regular poll instead.
const confirmQueue = 16

// deviceState is what a bus owner needs of one configured device; its
// poll statistics are the rule loop's (engine.Devices).
type deviceState struct {
	cfg      config.Device
	profile  *profile.Profile
	reader   *device.Reader
	interval time.Duration // the device's turn: its fastest group's interval
	every    []int         // per read group: every how many turns it is read
	confirm  chan<- string // its bus owner's confirmation reads
}

// busPlan is one bus and the devices on it.
type busPlan struct {
	cfg     config.Bus
	devices []*deviceState
	diag    *busDiag     // the local API's door to the owner (busapi.go)
	confirm chan string  // confirmation reads asked by the rule loop (confirm)
	meter   *sched.Meter // the line's measured load and achieved intervals
}

// buildDevices compiles every device's request plan and groups the devices
// by bus, in config order; it returns the devices for the rule loop.
// Devices of one profile with the same plan options share one plan.
func (d *Daemon) buildDevices() (*engine.Devices, error) {
	var list []engine.Device
	var plans profile.Plans
	d.devices = map[string]*deviceState{}
	byBus := map[string]*busPlan{}
	for _, b := range d.cfg.Buses {
		bp := &busPlan{cfg: b, diag: newBusDiag(), confirm: make(chan string, confirmQueue)}
		byBus[b.Name] = bp
	}
	for _, dc := range d.cfg.Devices {
		p, ok := d.opts.Profiles.Get(dc.Profile)
		if !ok {
			return nil, fmt.Errorf("device %q: profile %q not found", dc.ID, dc.Profile)
		}
		plan, err := plans.Compile(p, dc.PlanOptions())
		if err != nil {
			return nil, fmt.Errorf("device %q (profile %s): %w", dc.ID, p.Name, err)
		}
		bp := byBus[dc.Bus]
		if bp == nil {
			return nil, fmt.Errorf("device %q: bus %q not found", dc.ID, dc.Bus)
		}
		ds := &deviceState{cfg: dc, profile: p, reader: device.NewReader(plan, uint8(dc.Slave)), confirm: bp.confirm}
		ds.interval, ds.every = turns(plan)
		d.devices[dc.ID] = ds
		bp.devices = append(bp.devices, ds)
		list = append(list, engine.NewDevice(dc, p))
	}
	devs := engine.NewDevices(list)
	devs.SetLines(d.lines(byBus))
	return devs, nil
}

// lines appends the buses to d.buses in config order, each with its line
// meter, and returns the devices' planned intervals and the meters for
// the rule loop's device views.
func (d *Daemon) lines(byBus map[string]*busPlan) (map[string]time.Duration, map[string]*sched.Meter) {
	now := time.Now()
	for _, b := range d.cfg.Buses {
		bp := byBus[b.Name]
		ids := make([]string, 0, len(bp.devices))
		for _, ds := range bp.devices {
			ids = append(ids, ds.cfg.ID)
		}
		bp.meter = sched.NewMeter(ids, now)
		d.buses = append(d.buses, *bp)
	}
	return linesOf(d.buses)
}

// linesOf returns the planned interval of every device of buses and each
// bus's meter (engine.Devices.SetLines). A reload calls it again once it
// knows which buses keep their running owner (and so their meter).
func linesOf(buses []busPlan) (map[string]time.Duration, map[string]*sched.Meter) {
	planned := map[string]time.Duration{}
	meters := make(map[string]*sched.Meter, len(buses))
	for _, b := range buses {
		for _, ds := range b.devices {
			planned[ds.cfg.ID] = ds.interval
		}
		meters[b.cfg.Name] = b.meter
	}
	return planned, meters
}

// turns returns a plan's schedule for sched.Device: the fastest group's
// interval as the device's turn, and for each group every how many turns
// it is read (profile.Validate makes every interval a multiple of the
// fastest). A plan with nothing to read polls at profile.DefaultPoll.
func turns(plan *profile.Plan) (time.Duration, []int) {
	if len(plan.Groups) == 0 {
		return profile.DefaultPoll, nil
	}
	base := plan.Groups[0].Interval
	every := make([]int, len(plan.Groups))
	for i, g := range plan.Groups {
		every[i] = max(1, int((g.Interval+base/2)/base))
	}
	return base, every
}

// runBus owns one bus: it opens the transport and runs the poll schedule
// until ctx is done.
func (d *Daemon) runBus(ctx context.Context, b busPlan, out chan<- rules.Poll) {
	defer close(b.diag.stopped)
	tr, err := b.diag.openBus(b)
	if err != nil {
		d.log.Error("bus cannot be opened; its devices will go offline", "bus", b.cfg.Name, "err", err)
		tr = nil
	}
	if tr != nil {
		defer tr.Close()
	}
	sb := sched.Bus{Name: b.cfg.Name, Retries: b.cfg.Retries, Jobs: b.diag.jobs, Transport: tr, Confirm: b.confirm, Meter: b.meter}
	// the samples of the line's previous read, which Run is done with
	// (sched.ReadFunc): one buffer per bus, not per device
	var last []profile.Sample
	for _, ds := range b.devices {
		reader := ds.reader
		sb.Devices = append(sb.Devices, sched.Device{
			ID:       ds.cfg.ID,
			Interval: ds.interval,
			Every:    ds.every,
			Read: func(ctx context.Context, due []bool) ([]profile.Sample, error) {
				if tr == nil {
					return nil, fmt.Errorf("bus %q is not open: %v", b.cfg.Name, err)
				}
				start := time.Now()
				samples, err := reader.ReadGroupsInto(ctx, tr, due, last)
				d.noteRead(ds, time.Since(start), err)
				if err == nil {
					last = samples
				}
				return samples, err
			},
		})
	}
	if err := sched.Run(ctx, sb, out); err != nil && ctx.Err() == nil {
		d.log.Error("bus stopped", "bus", b.cfg.Name, "err", err)
	}
}

// noteRead records one read attempt of a device (the rule loop's device
// statistics, the metrics); it runs on the bus's owner goroutine.
func (d *Daemon) noteRead(ds *deviceState, took time.Duration, err error) {
	d.loop.Devices().NoteRead(ds.cfg.ID, took, err)
	d.metrics.ObserveRead(ds.cfg.Bus, ds.cfg.ID, took)
}

// confirm asks a device's bus owner for a confirmation read (the rule
// loop's Confirm); a full queue drops it, and the regular poll confirms.
func (d *Daemon) confirm(id string) {
	_, devices := d.busState()
	ds := devices[id]
	if ds == nil || ds.confirm == nil {
		return
	}
	select {
	case ds.confirm <- id:
	default:
	}
}
