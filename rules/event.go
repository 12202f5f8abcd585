package rules

import "time"

// Kind is what happened to a hazard episode.
type Kind uint8

const (
	// Open starts a hazard episode (a new ticket).
	Open Kind = iota + 1
	// Escalate raises the level of an open episode.
	Escalate
	// Clear says the condition returned to normal.
	Clear
	// Test is an event raised by a device in test mode or by diag
	// test-alarm; never a real ticket.
	Test
)

// String returns the ticket state word: open, escalate, clear, test.
func (k Kind) String() string {
	switch k {
	case Open:
		return "open"
	case Escalate:
		return "escalate"
	case Clear:
		return "clear"
	case Test:
		return "test"
	}
	return "unknown"
}

// Event is a decision of the engine about one (device, rule) episode.
type Event struct {
	Kind     Kind
	TicketID string // stable for the episode: "<device>/<rule>/<opened-at UTC 20060102T150405.000>"
	Device   string
	Rule     string // "R7"
	Hazard   string // "residual_current_alarm" (see Hazards)
	Level    int    // 1..4
	// At is when the condition (open) or its end (clear) was first observed,
	// not when the event was emitted after debounce.
	At              time.Time
	OccurrenceCount int // 1 for the first open of the episode
	Evidence        Evidence
	// After is the device's state once this event has happened: the worst
	// condition among the real episodes still open on the device (a test
	// episode is not one). A clear of R3 while R1 is open is
	// ConditionAlarm. Within one Step, the events of a device are numbered
	// in the order Step returns them, and the last one's After is the
	// device's state when Step returns.
	After Condition
	// ComponentType is the GB/T 26875.3 component type of the hazard
	// (HazardInfo.ComponentType); 0: the device's.
	ComponentType int
}

// Evidence is what the township needs to judge the event without asking.
// It carries no JSON tags: the ticket contract has its own type
// (uplink/ticket.Evidence), converted where a ticket is built.
type Evidence struct {
	Point        string
	Value        *float64
	Unit         string
	Threshold    *float64
	Slope        *float64 // creep: the baseline's slope per day
	Window       string
	ValueAtAlarm *float64
	Snapshot     map[string]*float64
}
