package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// apiHistory answers /v1/history from the outbox: the stored ticket
// events in time order, with the township's last ack of each ticket.
func (d *Daemon) apiHistory(ctx context.Context, q api.HistoryQuery) (api.History, error) {
	h, ok := any(d.store).(outbox.Historian)
	if !ok {
		return api.History{}, errors.New("this gateway's outbox keeps no history")
	}
	recs, err := h.History(ctx, outbox.HistoryQuery{Since: q.Since, Until: q.Until, TicketID: q.TicketID, Limit: q.Limit})
	if err != nil {
		return api.History{}, err
	}
	acks := d.lastAcks(ctx)
	out := api.History{Now: time.Now(), Since: q.Since, Until: q.Until, Records: make([]api.HistoryRecord, 0, len(recs))}
	for _, r := range recs {
		hr := api.HistoryRecord{
			Seq: r.Seq, CreatedAt: r.CreatedAt, State: r.State, Level: r.Level, Hazard: r.Hazard, Rule: r.Rule,
			Device: r.Device, TicketID: r.TicketID, EventID: r.EventID, SentAt: r.SentAt,
		}
		if info, ok := rules.LookupHazard(r.Hazard); ok {
			hr.LabelZh, hr.LabelEn, hr.Kind = info.Zh, info.En, info.Kind
		}
		if dev, _, ok := d.eventDevice(r.Device); ok {
			hr.DeviceName = dev.Name
		}
		if a, ok := acks[r.TicketID]; ok {
			hr.AckedBy, hr.AckedAt = a.By, a.At
		}
		out.Records = append(out.Records, hr)
	}
	return out, nil
}

// apiTestAlarm commits a `test` ticket event of a device to the outbox
// and wakes the link to publish it. The event takes the device's first
// alarm rule (else its first rule) for hazard and level, but it is never a
// real ticket: its state is test, its ticket id ends in test-<time>, the
// rule engine does not know it, and it is queued behind real level-1
// events.
func (d *Daemon) apiTestAlarm(ctx context.Context, device string) (api.TestAlarm, error) {
	ds := d.devices[device]
	if ds == nil {
		ids := make([]string, 0, len(d.cfg.Devices))
		for _, dc := range d.cfg.Devices {
			ids = append(ids, dc.ID)
		}
		return api.TestAlarm{}, fmt.Errorf("%w: no device %q in this gateway's config (devices: %s)", api.ErrNotFound, device, strings.Join(ids, ", "))
	}
	now := time.Now()
	rs, ok := testRule(d.engine.Explain(now), device)
	if !ok {
		return api.TestAlarm{}, fmt.Errorf("device %q has no rules: there is no hazard to test", device)
	}
	ev := rules.Event{
		Kind: rules.Test, Device: device, Rule: rs.Rule, Hazard: rs.Hazard, Level: rs.Level, At: now,
		TicketID:        fmt.Sprintf("%s/%s/test-%s", device, rs.Rule, now.UTC().Format("20060102T150405.000")),
		OccurrenceCount: 1,
	}
	rec, err := d.record(ev)
	if err != nil {
		return api.TestAlarm{}, fmt.Errorf("test ticket of %s: %w", device, err)
	}
	rec.Priority = outbox.PriorityTicket // a test never goes ahead of a real fire alarm
	committed, err := d.guard.Append(ctx, rec)
	if err != nil && !errors.Is(err, outbox.ErrNotDurable) {
		return api.TestAlarm{}, fmt.Errorf("test ticket of %s not committed: %w", device, err)
	}
	rec = committed[0]
	d.log.Info("hazard event", "state", "test", "device", device, "rule", rs.Rule, "hazard", rs.Hazard, "level", rs.Level, "ticket", rec.TicketID, "by", "diag test-alarm")
	d.metrics.noteCommitted(committed)
	if d.opts.OnCommitted != nil {
		d.opts.OnCommitted(rec)
	}
	d.link.Notify()
	return api.TestAlarm{
		Device: device, Hazard: rec.Hazard, Rule: rec.Rule, Level: rec.Level, TicketID: rec.TicketID,
		EventID: rec.EventID, Seq: rec.Seq, CommittedAt: rec.CreatedAt,
	}, nil
}

// testRule is the rule a test alarm of device stands for: its first rule
// of an alarm hazard, else its first rule.
func testRule(states []rules.RuleState, device string) (rules.RuleState, bool) {
	var first *rules.RuleState
	for i, rs := range states {
		if rs.Device != device {
			continue
		}
		if info, ok := rules.LookupHazard(rs.Hazard); ok && info.Kind == rules.KindAlarm {
			return rs, true
		}
		if first == nil {
			first = &states[i]
		}
	}
	if first == nil {
		return rules.RuleState{}, false
	}
	return *first, true
}
