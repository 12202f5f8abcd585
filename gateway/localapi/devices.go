package localapi

import (
	"context"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/engine"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// Devices answers /v1/devices (diag devices).
func (v *Views) Devices(context.Context) (api.Devices, error) {
	views := v.loop.Devices().Snapshot()
	out := api.Devices{Now: time.Now(), Devices: make([]api.Device, 0, len(views))}
	for _, dv := range views {
		out.Devices = append(out.Devices, apiDevice(dv))
	}
	return out, nil
}

// apiDevice is one device as diag devices shows it.
func apiDevice(dv engine.DeviceView) api.Device {
	dc, s := dv.Config, dv.PollStats
	dev := api.Device{
		ID: dc.ID, Name: dc.Name, Bus: dc.Bus, Slave: dc.Slave, Profile: dv.Profile.Name, Location: dc.Location,
		Online: s.Online, Seen: s.Seen, LastPoll: s.LastPoll, LastOK: s.LastOK,
		PollsOK: s.OK, PollsFailed: s.Failed, LastLatencyMS: float64(s.Latency) / float64(time.Millisecond),
		LastError: s.LastErr, LastErrorAt: s.LastErrAt, Values: make([]api.Value, 0, len(s.Values)),
		Requests: s.Health.Requests, Timeouts: s.Health.Timeouts, FrameErrors: s.Health.FrameErrors,
		Exceptions: s.Health.Exceptions, MeanLatencyMS: float64(s.Health.MeanLatency()) / float64(time.Millisecond),
	}
	if n := s.OK + s.Failed; n > 0 {
		r := float64(s.OK) / float64(n)
		dev.SuccessRate = &r
	}
	for _, r := range s.Values {
		dev.Values = append(dev.Values, api.Value{Point: r.Point, Value: r.Value, Unit: r.Unit, Absent: r.Quality == rules.Absent})
	}
	measured(&dev, dv.Measured)
	return dev
}

// measured fills the device's planned and achieved interval and its
// line's utilisation (sched.Meter).
func measured(dev *api.Device, m engine.Measured) {
	dev.IntervalS = m.Planned.Seconds()
	if m.AchievedOK {
		s := m.Achieved.Seconds()
		dev.AchievedIntervalS = &s
	}
	if m.LineOK {
		u := m.Line.Utilisation
		dev.BusUtilisation = &u
	}
}

// Alarms answers /v1/alarms (diag alarms): the open hazards, each with
// the township's last acknowledgement of its ticket.
func (v *Views) Alarms(ctx context.Context) (api.Alarms, error) {
	now := time.Now()
	eng := v.loop.Rules()
	hazard := map[[2]string]string{}
	for _, rs := range eng.Explain(now) {
		hazard[[2]string{rs.Device, rs.Rule}] = rs.Hazard
	}
	out := api.Alarms{Now: now, Alarms: []api.Alarm{}}
	ids := []string{}
	for _, o := range eng.Open() {
		a := api.Alarm{TicketID: v.loop.TicketID(o.Device, o.TicketID), Device: o.Device, Rule: o.Rule, Level: o.Level, Since: o.Since,
			Hazard: hazard[[2]string{o.Device, o.Rule}]}
		if dev, _, ok := v.loop.EventDevice(o.Device); ok {
			a.DeviceName = dev.Name
		}
		if h, ok := rules.LookupHazard(a.Hazard); ok {
			a.LabelZh = h.Zh
		}
		out.Alarms = append(out.Alarms, a)
		ids = append(ids, a.TicketID)
	}
	acks := v.lastAcks(ctx, ids)
	for i, a := range out.Alarms {
		if ack, ok := acks[a.TicketID]; ok {
			out.Alarms[i].AckedBy, out.Alarms[i].AckedAt = ack.By, ack.At
		}
	}
	return out, nil
}

// Queue answers /v1/queue (diag queue): the unsent records, at most limit.
func (v *Views) Queue(ctx context.Context, limit int) (api.Queue, error) {
	now := time.Now()
	s, err := v.opts.Guard.Stats(ctx)
	if err != nil {
		return api.Queue{}, err
	}
	recs, err := v.opts.Guard.Pending(ctx, limit)
	if err != nil {
		return api.Queue{}, err
	}
	q := api.Queue{Now: now, Depth: s.Depth, Truncated: len(recs) < s.Depth, Items: make([]api.QueueItem, 0, len(recs)),
		Uplinks: v.uplinkStates(ctx, now)}
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

// Rules answers /v1/rules (diag rules): every rule's state now.
func (v *Views) Rules(context.Context) (api.Rules, error) {
	now := time.Now()
	states := v.loop.Rules().Explain(now)
	out := api.Rules{Now: now, Rules: make([]api.Rule, 0, len(states))}
	for _, rs := range states {
		out.Rules = append(out.Rules, api.Rule{
			Device: rs.Device, Rule: rs.Rule, Hazard: rs.Hazard, Phase: rs.Phase.String(), Since: rs.Since,
			ElapsedS: rs.Elapsed.Seconds(), Samples: rs.Samples, Point: rs.Point, Value: rs.Value,
			Threshold: rs.Threshold, TicketID: v.loop.TicketID(rs.Device, rs.TicketID), Level: rs.Level, Frozen: rs.Frozen,
		})
	}
	return out, nil
}
