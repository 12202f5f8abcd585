package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/sched"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// pollStats is what the daemon keeps of one device's polls for `diag
// devices` (guarded by Daemon.mu).
type pollStats struct {
	lastPoll, lastOK, lastErrAt time.Time
	ok, failed                  uint64
	lastErr                     string
	latency                     time.Duration // last read attempt
	values                      []rules.Reading
	health                      sched.Health // per read attempt and poll (online)
}

// note counts one poll (a sweep, retries included).
func (s *pollStats) note(p rules.Poll) {
	s.lastPoll = p.At
	if p.OK {
		s.ok++
		s.lastOK = p.At
		s.values = mergeReadings(s.values, p.Readings)
		return
	}
	s.failed++
	s.lastErr, s.lastErrAt = p.Err, p.At
}

// noteRead records one read attempt of a device: how long it took and
// how it failed; it runs on the bus's owner goroutine.
func (d *Daemon) noteRead(ds *deviceState, took time.Duration, err error) {
	d.mu.Lock()
	ds.stats.latency = took
	ds.stats.health.Note(err, took)
	d.mu.Unlock()
	d.metrics.observeRead(ds.cfg.Bus, ds.cfg.ID, took)
}

// startAPI serves the local API on local.socket ("" = off). A socket that
// another process answers on is an error (a second daemon would be a
// second master on the buses); any other failure is logged and the
// gateway runs without the API, because forwarding alarms comes first.
func (d *Daemon) startAPI() (stop func(), err error) {
	path := d.cfg.Local.Socket
	if path == "" {
		return func() {}, nil
	}
	srv, err := api.Listen(path, d.apiHandlers())
	if errors.Is(err, api.ErrInUse) {
		return nil, errSecondDaemon(path)
	}
	if err != nil {
		d.log.Error("local API not available; the gateway runs without it", "socket", path, "err", err)
		return func() {}, nil
	}
	d.log.Info("local API listening", "socket", path)
	return func() {
		if err := srv.Close(); err != nil {
			d.log.Warn("local API close", "err", err)
		}
	}, nil
}

// refuseSecond fails when a daemon already answers on local.socket: New
// calls it before opening the outbox, Run again when it takes the socket.
func (d *Daemon) refuseSecond() error {
	if p := d.cfg.Local.Socket; p != "" && api.Answers(p) {
		return errSecondDaemon(p)
	}
	return nil
}

func errSecondDaemon(path string) error {
	return fmt.Errorf("local.socket %s: another fenghuo daemon answers on it; not starting a second one (it would be a second master on the buses)", path)
}

func (d *Daemon) apiHandlers() api.Handlers {
	return api.Handlers{
		Status:  d.apiStatus,
		Devices: d.apiDevices,
		Alarms:  d.apiAlarms,
		Queue:   d.apiQueue,
		Rules:   d.apiRules,
		// diag history and test-alarm: api_history.go
		History:   d.apiHistory,
		TestAlarm: d.apiTestAlarm,
		Control:   d.apiControl,    // control.go
		Bus:       d.busHandlers(), // read, scan, trace: busapi.go
	}
}

func (d *Daemon) apiStatus(ctx context.Context) (api.Status, error) {
	now := time.Now()
	st := api.Status{
		Now: now, Version: d.opts.Version, GatewayID: d.cfg.Gateway.ID,
		StartedAt: d.started, UptimeS: now.Sub(d.started).Seconds(),
		Uplink: api.UplinkStatus{
			Broker: sanitize.URL(d.cfg.Uplink.MQTT.Broker), Connected: d.link.Connected(),
			LastPublishAt: d.link.LastPublish(),
		},
		Buffer: api.BufferStatus{Path: d.cfg.Buffer.Path},
	}
	d.mu.Lock()
	for _, ds := range d.devices {
		if ds.online {
			st.Devices.Online++
		}
	}
	st.Devices.Total = len(d.devices)
	d.mu.Unlock()
	gs := d.guard.GuardStats()
	st.Buffer.Uncommitted = gs.NotDurable
	st.Buffer.StorageFault = d.storageFault(now)
	st.Buffer.StorageFaultSince = gs.FailingSince
	st.Buffer.StorageError = d.storageError(gs)
	st.Buffer.FallbackImported = d.storage.imported
	st.Buffer.Lost = gs.Lost
	s, err := d.guard.Stats(ctx)
	if err != nil {
		st.Buffer.Error = err.Error()
		return st, nil
	}
	st.Buffer.Depth, st.Buffer.LastSeq, st.Buffer.Sent = s.Depth, s.LastSeq, s.Sent
	st.Buffer.DroppedTickets, st.Buffer.DroppedTelemetry = s.DroppedTickets, s.DroppedTelemetry
	if !s.OldestUnsent.IsZero() {
		st.Buffer.OldestUnsentAt = s.OldestUnsent
		st.Buffer.OldestUnsentAgeS = now.Sub(s.OldestUnsent).Seconds()
	}
	return st, nil
}

func (d *Daemon) apiDevices(context.Context) (api.Devices, error) {
	out := api.Devices{Now: time.Now(), Devices: make([]api.Device, 0, len(d.cfg.Devices))}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, dc := range d.cfg.Devices {
		ds := d.devices[dc.ID]
		if ds == nil {
			continue
		}
		s := ds.stats
		dev := api.Device{
			ID: dc.ID, Name: dc.Name, Bus: dc.Bus, Slave: dc.Slave, Profile: ds.profile.Name, Location: dc.Location,
			Online: ds.online, Seen: ds.seen, LastPoll: s.lastPoll, LastOK: s.lastOK,
			PollsOK: s.ok, PollsFailed: s.failed, LastLatencyMS: float64(s.latency) / float64(time.Millisecond),
			LastError: s.lastErr, LastErrorAt: s.lastErrAt, Values: make([]api.Value, 0, len(s.values)),
			Requests: s.health.Requests, Timeouts: s.health.Timeouts, FrameErrors: s.health.FrameErrors,
			Exceptions: s.health.Exceptions, MeanLatencyMS: float64(s.health.MeanLatency()) / float64(time.Millisecond),
		}
		if n := s.ok + s.failed; n > 0 {
			r := float64(s.ok) / float64(n)
			dev.SuccessRate = &r
		}
		for _, r := range s.values {
			dev.Values = append(dev.Values, api.Value{Point: r.Point, Value: r.Value, Unit: r.Unit, Absent: r.Quality == rules.Absent})
		}
		out.Devices = append(out.Devices, dev)
	}
	return out, nil
}

func (d *Daemon) apiAlarms(ctx context.Context) (api.Alarms, error) {
	now := time.Now()
	hazard := map[[2]string]string{}
	for _, rs := range d.engine.Explain(now) {
		hazard[[2]string{rs.Device, rs.Rule}] = rs.Hazard
	}
	out := api.Alarms{Now: now, Alarms: []api.Alarm{}}
	ids := []string{}
	for _, o := range d.engine.Open() {
		a := api.Alarm{TicketID: d.ticketID(o.Device, o.TicketID), Device: o.Device, Rule: o.Rule, Level: o.Level, Since: o.Since,
			Hazard: hazard[[2]string{o.Device, o.Rule}]}
		if dev, _, ok := d.eventDevice(o.Device); ok {
			a.DeviceName = dev.Name
		}
		if h, ok := rules.LookupHazard(a.Hazard); ok {
			a.LabelZh = h.Zh
		}
		out.Alarms = append(out.Alarms, a)
		ids = append(ids, a.TicketID)
	}
	acks := d.lastAcks(ctx, ids)
	for i, a := range out.Alarms {
		if ack, ok := acks[a.TicketID]; ok {
			out.Alarms[i].AckedBy, out.Alarms[i].AckedAt = ack.By, ack.At
		}
	}
	return out, nil
}

// ticketID is an episode's ticket id as published (ticket.TicketID).
func (d *Daemon) ticketID(device, episode string) string {
	return ticket.TicketID(d.cfg.Gateway.ID, device, episode)
}

// lastAcks is the latest township acknowledgement of each of ticketIDs
// (the tickets shown). It never loads the whole acks table: the store
// answers in SQL (outbox.LatestAcker).
func (d *Daemon) lastAcks(ctx context.Context, ticketIDs []string) map[string]outbox.Ack {
	if len(ticketIDs) == 0 {
		return nil
	}
	acks, err := d.store.LatestAcks(ctx, ticketIDs...)
	if err != nil {
		d.log.Warn("reading acknowledgements for the local API", "err", err)
		return nil
	}
	return acks
}

func (d *Daemon) apiQueue(ctx context.Context, limit int) (api.Queue, error) {
	now := time.Now()
	s, err := d.guard.Stats(ctx)
	if err != nil {
		return api.Queue{}, err
	}
	recs, err := d.guard.Pending(ctx, limit)
	if err != nil {
		return api.Queue{}, err
	}
	q := api.Queue{Now: now, Depth: s.Depth, Truncated: len(recs) < s.Depth, Items: make([]api.QueueItem, 0, len(recs))}
	for _, r := range recs {
		state := r.State
		if !r.IsTicket() {
			state = "telemetry"
		}
		q.Items = append(q.Items, api.QueueItem{
			Seq: r.Seq, State: state, Hazard: r.Hazard, Device: r.Device, Level: r.Level,
			TicketID: r.TicketID, EventID: r.EventID, CreatedAt: r.CreatedAt, AgeS: now.Sub(r.CreatedAt).Seconds(),
		})
	}
	return q, nil
}

func (d *Daemon) apiRules(context.Context) (api.Rules, error) {
	now := time.Now()
	states := d.engine.Explain(now)
	out := api.Rules{Now: now, Rules: make([]api.Rule, 0, len(states))}
	for _, rs := range states {
		out.Rules = append(out.Rules, api.Rule{
			Device: rs.Device, Rule: rs.Rule, Hazard: rs.Hazard, Phase: rs.Phase.String(), Since: rs.Since,
			ElapsedS: rs.Elapsed.Seconds(), Samples: rs.Samples, Point: rs.Point, Value: rs.Value,
			Threshold: rs.Threshold, TicketID: d.ticketID(rs.Device, rs.TicketID), Level: rs.Level, Frozen: rs.Frozen,
		})
	}
	return out, nil
}
