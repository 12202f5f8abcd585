package ticket

import "github.com/fenghuo-iot/fenghuo/rules"

// Evidence is what the township needs to judge the event without asking:
// the point and value that decided it, its threshold or slope, the window,
// and a snapshot of the device's other points (docs/tickets.md, the
// "evidence" object of docs/ticket.schema.json). It is the contract's own
// type: the engine's [rules.Evidence] is converted by [FromEvent], so a
// change in the engine cannot change the JSON a station reads.
type Evidence struct {
	Point        string              `json:"point,omitempty"`
	Value        *float64            `json:"value,omitempty"`
	Unit         string              `json:"unit,omitempty"`
	Threshold    *float64            `json:"threshold,omitempty"`
	Slope        *float64            `json:"slope,omitempty"` // creep: the baseline's slope per day
	Window       string              `json:"window,omitempty"`
	ValueAtAlarm *float64            `json:"value_at_alarm,omitempty"`
	Snapshot     map[string]*float64 `json:"snapshot,omitempty"`
}

// evidenceOf converts the engine's evidence of an event into the ticket's.
func evidenceOf(e rules.Evidence) *Evidence {
	return &Evidence{
		Point:        e.Point,
		Value:        e.Value,
		Unit:         e.Unit,
		Threshold:    e.Threshold,
		Slope:        e.Slope,
		Window:       e.Window,
		ValueAtAlarm: e.ValueAtAlarm,
		Snapshot:     e.Snapshot,
	}
}
