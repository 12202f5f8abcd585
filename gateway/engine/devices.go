package engine

import (
	"slices"
	"sync"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/sched"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// Device is what does not change of one configured device while the
// gateway runs: its config, its profile and its ticket block.
type Device struct {
	Config   config.Device
	Profile  *profile.Profile
	Category string        // the profile's category (a hazard without its own takes it)
	Ticket   ticket.Device // the device block of its tickets
}

// NewDevice is a configured device with its profile.
func NewDevice(dc config.Device, p *profile.Profile) Device {
	return Device{Config: dc, Profile: p, Category: p.Category, Ticket: ticket.Device{
		ID: dc.ID, Name: dc.Name, Profile: p.Name, Vendor: p.Vendor, Model: p.Model,
		CategoryZh: p.CategoryZh, GB26875ComponentType: p.GB26875ComponentType, NetType: "00",
		Location: dc.Location, Bus: dc.Bus, Slave: dc.Slave,
	}}
}

// PollStats is what is known of one device's polls (diag devices, the
// health report, telemetry, the status message).
type PollStats struct {
	LastPoll, LastOK, LastErrAt time.Time
	OK, Failed                  uint64
	LastErr                     string
	Latency                     time.Duration   // last read attempt
	Values                      []rules.Reading // each point's latest reading (in views; Devices keeps them compact)
	Health                      sched.Health    // per read attempt and poll (online)
	// Online is Health.Online (with hysteresis); Seen: polled at least once.
	Online, Seen bool
}

// note counts one poll (a sweep, retries included).
func (s *PollStats) note(p rules.Poll) {
	s.LastPoll = p.At
	if p.OK {
		s.OK++
		s.LastOK = p.At
		return
	}
	s.Failed++
	s.LastErr, s.LastErrAt = p.Err, p.At
}

// DeviceView is one device and its poll statistics at one moment.
type DeviceView struct {
	Device
	PollStats
	Measured Measured
}

// Devices are the configured devices, in config order, and their live
// poll statistics, guarded by its own mutex: the bus owners note read
// attempts, the rule loop notes polls, the API and the status read
// snapshots. Safe for concurrent use.
type Devices struct {
	list []Device
	byID map[string]int

	mu      sync.Mutex
	stats   []PollStats             // by index in list (Values unused); guarded by mu
	latest  []latestValues          // by index in list; guarded by mu
	planned []time.Duration         // by index in list (SetLines); guarded by mu
	meters  map[string]*sched.Meter // by bus (SetLines); guarded by mu
}

// NewDevices holds devs (ids unique; config validation sees to it).
func NewDevices(devs []Device) *Devices {
	ds := &Devices{list: devs, byID: make(map[string]int, len(devs)), stats: make([]PollStats, len(devs)),
		latest: make([]latestValues, len(devs))}
	tables := map[*profile.Profile]*pointTable{}
	for i, d := range devs {
		ds.byID[d.Config.ID] = i
		t, ok := tables[d.Profile]
		if !ok {
			t = newPointTable(d.Profile)
			tables[d.Profile] = t
		}
		ds.latest[i].tab = t
	}
	return ds
}

// List is every device, in config order (not to be modified).
func (ds *Devices) List() []Device { return ds.list }

// Get returns the device with id.
func (ds *Devices) Get(id string) (Device, bool) {
	i, ok := ds.byID[id]
	if !ok {
		return Device{}, false
	}
	return ds.list[i], true
}

// IDs is every device id, in config order.
func (ds *Devices) IDs() []string {
	ids := make([]string, 0, len(ds.list))
	for _, d := range ds.list {
		ids = append(ids, d.Config.ID)
	}
	return ids
}

// NoteRead records one read attempt of device id: how long it took and
// how it failed. The bus owners call it.
func (ds *Devices) NoteRead(id string, took time.Duration, err error) {
	i, ok := ds.byID[id]
	if !ok {
		return
	}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	ds.stats[i].Latency = took
	ds.stats[i].Health.Note(err, took)
}

// NotePoll records a poll and returns the device's online state after it
// and whether it changed (sched.Health.NotePoll: offline after
// sched.OfflineAfter failed polls in a row, online again at the first good
// one); known is false for a poll of no configured device.
func (ds *Devices) NotePoll(p rules.Poll) (online, changed, known bool) {
	i, ok := ds.byID[p.Device]
	if !ok {
		return false, false, false
	}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	s := &ds.stats[i]
	changed = s.Health.NotePoll(p.OK)
	s.Online, s.Seen = s.Health.Online, true
	s.note(p)
	if p.OK {
		ds.latest[i].merge(p.Readings)
	}
	return s.Online, changed, true
}

// SetOnline sets a device's online state by hand (tests of the views).
func (ds *Devices) SetOnline(id string, online bool) {
	if i, ok := ds.byID[id]; ok {
		ds.mu.Lock()
		ds.stats[i].Online = online
		ds.mu.Unlock()
	}
}

// Online reports whether device id is online.
func (ds *Devices) Online(id string) bool {
	i, ok := ds.byID[id]
	if !ok {
		return false
	}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	return ds.stats[i].Online
}

// Snapshot is every device with a copy of its statistics, in config order.
func (ds *Devices) Snapshot() []DeviceView {
	out := make([]DeviceView, len(ds.list))
	now := time.Now()
	ds.mu.Lock()
	defer ds.mu.Unlock()
	for i, d := range ds.list {
		out[i] = DeviceView{Device: d, PollStats: ds.stats[i], Measured: ds.measured(i, now)}
		out[i].Values = ds.latest[i].readings()
	}
	return out
}

// View is one device with a copy of its statistics.
func (ds *Devices) View(id string) (DeviceView, bool) {
	i, ok := ds.byID[id]
	if !ok {
		return DeviceView{}, false
	}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	v := DeviceView{Device: ds.list[i], PollStats: ds.stats[i], Measured: ds.measured(i, time.Now())}
	v.Values = ds.latest[i].readings()
	return v, true
}

// Counts is how many devices are online, and each bus's read errors
// since the start (the status message).
func (ds *Devices) Counts() (online int, busErrors map[string]ticket.BusErrors) {
	busErrors = map[string]ticket.BusErrors{}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	for i, d := range ds.list {
		s := &ds.stats[i]
		if s.Online {
			online++
		}
		h, b := s.Health, busErrors[d.Config.Bus]
		b.Requests += h.Requests
		b.Timeouts += h.Timeouts
		b.FrameErrors += h.FrameErrors
		b.Exceptions += h.Exceptions
		b.Other += h.OtherErrors
		busErrors[d.Config.Bus] = b
	}
	return online, busErrors
}

// mergeReadings updates latest, the latest reading of every point, with a
// poll's readings and returns it: a poll carries only the points of the
// read groups due on that turn (a status word every second, analog values
// every fifth…), so `diag devices` keeps each point's last value rather
// than the last poll's. Points keep the order in which they were first
// read (a device's first poll reads every group, in profile order).
//
// It updates latest in place (Devices copies it out under its mutex) and
// looks for each point from where the previous one was found: polls carry
// their points in profile order, so a poll of n points costs O(n), not
// O(n²) string comparisons.
func mergeReadings(latest, poll []rules.Reading) []rules.Reading {
	if len(latest) == 0 {
		return slices.Clone(poll) // the first poll: every group, exactly sized
	}
	at := 0
	for _, r := range poll {
		i := findPoint(latest, r.Point, at)
		if i < 0 {
			latest = append(latest, r)
			at = len(latest)
			continue
		}
		latest[i], at = r, i+1
	}
	return latest
}

// findPoint returns the index of point in rs, searching from `from` on
// and then from the start, or -1.
func findPoint(rs []rules.Reading, point string, from int) int {
	from = min(from, len(rs))
	for i := from; i < len(rs); i++ {
		if rs[i].Point == point {
			return i
		}
	}
	for i := range from {
		if rs[i].Point == point {
			return i
		}
	}
	return -1
}
