package daemon

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/device"
	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/sched"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// deviceState is what the daemon knows of one configured device.
type deviceState struct {
	cfg      config.Device
	profile  *profile.Profile
	reader   *device.Reader
	interval time.Duration // the device's turn: its fastest group's interval
	every    []int         // per read group: every how many turns it is read
	confirm  chan<- string // its bus owner's confirmation reads (confirm.go)
	category string
	ticket   ticket.Device
	online   bool      // stats.health.Online, with hysteresis; guarded by Daemon.mu
	seen     bool      // polled at least once; guarded by Daemon.mu
	stats    pollStats // guarded by Daemon.mu
}

// busPlan is one bus and the devices on it.
type busPlan struct {
	cfg     config.Bus
	devices []*deviceState
	diag    *busDiag    // the local API's door to the owner (busapi.go)
	confirm chan string // confirmation reads asked by the rule loop (confirm.go)
}

// buildDevices compiles every device's request plan and groups the devices
// by bus, in config order.
func (d *Daemon) buildDevices() error {
	d.devices = map[string]*deviceState{}
	byBus := map[string]*busPlan{}
	for _, b := range d.cfg.Buses {
		bp := &busPlan{cfg: b, diag: newBusDiag(), confirm: make(chan string, confirmQueue)}
		byBus[b.Name] = bp
	}
	for _, dc := range d.cfg.Devices {
		p, ok := d.opts.Profiles.Get(dc.Profile)
		if !ok {
			return fmt.Errorf("device %q: profile %q not found", dc.ID, dc.Profile)
		}
		plan, err := profile.Compile(p, dc.PlanOptions())
		if err != nil {
			return fmt.Errorf("device %q (profile %s): %w", dc.ID, p.Name, err)
		}
		bp := byBus[dc.Bus]
		if bp == nil {
			return fmt.Errorf("device %q: bus %q not found", dc.ID, dc.Bus)
		}
		ds := &deviceState{
			cfg:      dc,
			profile:  p,
			reader:   device.NewReader(plan, uint8(dc.Slave)),
			category: p.Category,
			ticket: ticket.Device{
				ID: dc.ID, Name: dc.Name, Profile: p.Name, Vendor: p.Vendor, Model: p.Model,
				CategoryZh: p.CategoryZh, GB26875ComponentType: p.GB26875ComponentType, NetType: "00",
				Location: dc.Location, Bus: dc.Bus, Slave: dc.Slave,
			},
		}
		ds.interval, ds.every = turns(plan)
		ds.confirm = bp.confirm
		d.devices[dc.ID] = ds
		bp.devices = append(bp.devices, ds)
	}
	for _, b := range d.cfg.Buses {
		d.buses = append(d.buses, *byBus[b.Name])
	}
	return nil
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

// buildEngine compiles the effective rules of every device, and of the
// gateway itself (gateway.go).
func (d *Daemon) buildEngine() error {
	sets, err := d.cfg.DeviceRules(d.opts.Profiles)
	if err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	devs := make([]rules.DeviceRules, 0, len(sets)+1)
	for _, s := range sets {
		devs = append(devs, rules.DeviceRules{Device: s.Device, Specs: s.Specs, Points: s.Points, Params: s.Params})
	}
	// config validation keeps devices off the gateway's id (and the engine
	// refuses a duplicate device id).
	devs = append(devs, rules.GatewayRules(d.cfg.Gateway.ID))
	eng, err := rules.NewEngine(devs)
	if err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	for _, n := range eng.Notes() {
		d.log.Info("rule reduced or left out for want of a device parameter (devices[].params)",
			"device", n.Device, "rule", n.Rule, "compiled", n.Compiled, "missing", strings.Join(n.Missing, ","))
	}
	d.engine = eng
	return nil
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
	sb := sched.Bus{Name: b.cfg.Name, Retries: b.cfg.Retries, Jobs: b.diag.jobs, Transport: tr, Confirm: b.confirm}
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
				samples, err := reader.ReadGroups(ctx, tr, due)
				d.noteRead(ds, time.Since(start), err)
				return samples, err
			},
		})
	}
	if err := sched.Run(ctx, sb, out); err != nil && ctx.Err() == nil {
		d.log.Error("bus stopped", "bus", b.cfg.Name, "err", err)
	}
}

// noteOnline records a device's poll for the status message, diag and
// metrics, and logs online/offline changes. Online has hysteresis
// (sched.Health.NotePoll): offline after sched.OfflineAfter failed polls
// in a row (an exception reply is a failed poll: no data), online again at
// the first good one. It is the operational view; the R21 ticket counts
// the same failures but also waits 30 s and 3 good polls (docs/operations.md).
func (d *Daemon) noteOnline(p rules.Poll) {
	d.mu.Lock()
	ds := d.devices[p.Device]
	if ds == nil {
		d.mu.Unlock()
		return
	}
	changed := ds.stats.health.NotePoll(p.OK)
	ds.online, ds.seen = ds.stats.health.Online, true
	online := ds.online
	ds.stats.note(p)
	d.mu.Unlock()
	d.metrics.notePoll(ds.cfg.Bus, p, online)
	switch {
	case !changed:
	case online:
		d.log.Info("device online", "device", p.Device)
	default:
		d.log.Warn("device offline", "device", p.Device, "failed_polls", sched.OfflineAfter, "err", p.Err)
	}
}

// gatewayInfo is the gateway block of every ticket.
func (d *Daemon) gatewayInfo() ticket.Gateway {
	s := d.cfg.Gateway.Site
	return ticket.Gateway{ID: d.cfg.Gateway.ID, Site: ticket.Site{
		Name: s.Name, ClientZh: s.ClientZh, Address: s.Address, Township: s.Township,
		TownshipCode: s.TownshipCode, AreaCode: s.AreaCode, Community: s.Community, Grid: s.Grid, TrackZh: s.TrackZh,
	}}
}

// hazardMeta is the catalog entry of a hazard as the ticket builder wants
// it. A hazard without a fixed category takes its profile's.
func hazardMeta(h rules.HazardInfo, profileCategory string) ticket.HazardMeta {
	cat := h.Category
	if cat == "" {
		cat = profileCategory
	}
	return ticket.HazardMeta{Code: h.Code, Zh: h.Zh, En: h.En, Kind: h.Kind, Category: cat, Condition: h.Condition}
}
