package localapi

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// maxHistoryRecords bounds one /v1/history answer (the newest are kept):
// the outbox itself is bounded by buffer.max_size, but a full 256 MiB
// outbox of small tickets would otherwise become one answer of ~100 MB.
const maxHistoryRecords = 100_000

// HistoryPage is how many records History reads from the outbox at a
// time.
const HistoryPage = 500

// History answers /v1/history from the outbox: the stored ticket
// events in time order, with the township's last ack of each ticket. The
// SQLite outbox is read in pages of HistoryPage records (keyset
// pagination in SQL, newest first, without payloads) and the acks of each
// page's tickets looked up in SQL, so neither the records nor the acks are
// ever loaded whole; at most q.Limit (or maxHistoryRecords) are returned.
func (v *Views) History(ctx context.Context, q api.HistoryQuery) (api.History, error) {
	limit := maxHistoryRecords
	if q.Limit > 0 && q.Limit < limit {
		limit = q.Limit
	}
	oq := outbox.HistoryQuery{Since: q.Since, Until: q.Until, TicketID: q.TicketID, Limit: limit}
	out := api.History{Now: time.Now(), Since: q.Since, Until: q.Until, Records: []api.HistoryRecord{}}
	add := func(recs []outbox.Record) {
		ids := make([]string, 0, len(recs))
		for _, r := range recs {
			ids = append(ids, r.TicketID)
		}
		acks := v.lastAcks(ctx, ids)
		for _, r := range recs {
			out.Records = append(out.Records, v.historyRecord(r, acks))
		}
	}
	var cur outbox.HistoryCursor
	for len(out.Records) < limit {
		recs, err := v.opts.Store.HistoryPage(ctx, oq, cur, min(HistoryPage, limit-len(out.Records)))
		if err != nil {
			return api.History{}, err
		}
		add(recs)
		if len(recs) < HistoryPage {
			break
		}
		last := recs[len(recs)-1]
		cur = outbox.HistoryCursor{CreatedAt: last.CreatedAt, Seq: last.Seq}
	}
	if len(out.Records) == maxHistoryRecords {
		v.log.Warn("diag history: answer cut to the newest records; narrow it with --since/--until", "records", maxHistoryRecords)
	}
	slices.Reverse(out.Records) // oldest first
	return out, nil
}

// historyRecord is one outbox record as /v1/history shows it.
func (v *Views) historyRecord(r outbox.Record, acks map[string]outbox.Ack) api.HistoryRecord {
	hr := api.HistoryRecord{
		Seq: r.Seq, CreatedAt: r.CreatedAt, State: r.State, Level: r.Level, Hazard: r.Hazard, Rule: r.Rule,
		Device: r.Device, TicketID: r.TicketID, EventID: r.EventID, SentAt: r.SentAt,
	}
	if info, ok := rules.LookupHazard(r.Hazard); ok {
		hr.LabelZh, hr.LabelEn, hr.Kind = info.Zh, info.En, info.Kind
	}
	if dev, _, ok := v.loop.EventDevice(r.Device); ok {
		hr.DeviceName = dev.Name
	}
	if a, ok := acks[r.TicketID]; ok {
		hr.AckedBy, hr.AckedAt = a.By, a.At
	}
	return hr
}

// TestAlarm commits a `test` ticket event of a device to the outbox
// and wakes the uplinks to publish it. The event takes the device's first
// alarm rule (else its first rule) for hazard and level, but it is never a
// real ticket: its state is test, its ticket id ends in test-<time>, the
// rule engine does not know it, and it is queued behind real level-1
// events.
func (v *Views) TestAlarm(ctx context.Context, device string) (api.TestAlarm, error) {
	if _, ok := v.loop.Devices().Get(device); !ok {
		return api.TestAlarm{}, v.errNoDevice(device)
	}
	now := time.Now()
	rs, ok := testRule(v.loop.Rules().Explain(now), device)
	if !ok {
		return api.TestAlarm{}, fmt.Errorf("device %q has no rules: there is no hazard to test", device)
	}
	ev := rules.Event{
		Kind: rules.Test, Device: device, Rule: rs.Rule, Hazard: rs.Hazard, Level: rs.Level, At: now,
		TicketID:        fmt.Sprintf("%s/%s/test-%s", device, rs.Rule, now.UTC().Format("20060102T150405.000")),
		OccurrenceCount: 1,
	}
	rec, err := v.loop.Record(ev)
	if err != nil {
		return api.TestAlarm{}, fmt.Errorf("test ticket of %s: %w", device, err)
	}
	rec.Priority = outbox.PriorityTicket // a test never goes ahead of a real fire alarm
	committed, err := v.loop.Append(ctx, rec)
	if err != nil {
		return api.TestAlarm{}, fmt.Errorf("test ticket of %s not committed: %w", device, err)
	}
	rec = committed[0]
	v.log.Info("hazard event", "state", "test", "device", device, "rule", rs.Rule, "hazard", rs.Hazard, "level", rs.Level, "ticket", rec.TicketID, "by", "diag test-alarm")
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
