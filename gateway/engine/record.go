package engine

import (
	"fmt"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// Record converts a rule event into an outbox record carrying its ticket.
func (l *Loop) Record(ev rules.Event) (outbox.Record, error) {
	dev, category, ok := l.EventDevice(ev.Device)
	if !ok {
		return outbox.Record{}, fmt.Errorf("unknown device %q", ev.Device)
	}
	info, ok := rules.LookupHazard(ev.Hazard)
	if !ok {
		return outbox.Record{}, fmt.Errorf("unknown hazard %q", ev.Hazard)
	}
	if ev.Kind == rules.Test {
		// a test changes nothing on the device: it is coded with the
		// device's state (a test from diag test-alarm carries none)
		ev.After = max(ev.After, l.Rules().Condition(ev.Device))
	}
	t := ticket.FromEvent(ev, hazardMeta(info, category), GatewayInfo(l.Config().Gateway.ID, l.Config().Gateway.Site), dev)
	payload, err := t.Marshal()
	if err != nil {
		return outbox.Record{}, err
	}
	return outbox.Record{
		EventID: t.EventID, TicketID: t.TicketID, State: t.State, Hazard: ev.Hazard, Rule: ev.Rule,
		Device: ev.Device, Level: ev.Level, Priority: priority(ev, info), Payload: payload, CreatedAt: time.Now(),
	}, nil
}

// priority is the outbox class of an event (DESIGN §6, §8.4; GB 26875.1
// 4.1.2.3: fire first): every event of a fire-class hazard (kind alarm,
// any level: R1, R7, R10, R19, R22) and any level-1 event go first, ahead
// of faults, lower hazards, telemetry and the replay of older tickets; a
// test is never fire (GB/T 45839 5.8.4).
func priority(ev rules.Event, info rules.HazardInfo) int {
	if ev.Kind != rules.Test && (info.Kind == rules.KindAlarm || ev.Level == 1) {
		return outbox.PriorityLevel1
	}
	return outbox.PriorityTicket
}

// EventDevice returns the ticket device block and the profile category of
// an event's device: a configured device, or the gateway itself.
func (l *Loop) EventDevice(id string) (ticket.Device, string, bool) {
	if d, ok := l.Devices().Get(id); ok {
		return d.Ticket, d.Category, true
	}
	if id == l.Config().Gateway.ID {
		return ticket.GatewayDevice(GatewayInfo(l.Config().Gateway.ID, l.Config().Gateway.Site)), rules.CategoryGateway, true
	}
	return ticket.Device{}, "", false
}

// TicketID is an episode's ticket id as published (ticket.TicketID).
func (l *Loop) TicketID(device, episode string) string {
	return ticket.TicketID(l.Config().Gateway.ID, device, episode)
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

// GatewayInfo is the gateway block of every ticket.
func GatewayInfo(id string, s config.Site) ticket.Gateway {
	return ticket.Gateway{ID: id, Site: ticket.Site{
		Name: s.Name, ClientZh: s.ClientZh, Address: s.Address, Township: s.Township,
		TownshipCode: s.TownshipCode, AreaCode: s.AreaCode, Community: s.Community, Grid: s.Grid, TrackZh: s.TrackZh,
	}}
}
