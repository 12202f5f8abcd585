package ticket

import (
	"encoding/json"
)

// Schema is the value of the schema field of every ticket event.
const Schema = "fenghuo.ticket.v1"

// States of a ticket event.
const (
	StateOpen     = "open"     // a hazard episode starts
	StateEscalate = "escalate" // its level rises; same ticket_id
	StateClear    = "clear"    // the condition returned to normal (closing is the township's)
	StateTest     = "test"     // diag test-alarm or a device in test mode; never a real ticket
	StateDropped  = "dropped"  // tombstone of an event the outbox had to drop (DESIGN §6)
)

// Kinds of hazard (GB/T 45839 mapping in [GBT45839Status]).
const (
	KindAlarm  = "alarm"
	KindHazard = "hazard"
	KindFault  = "fault"
)

// Ticket is one fenghuo.ticket.v1 event. Field order follows the contract.
type Ticket struct {
	Schema          string `json:"schema"`
	EventID         string `json:"event_id"`
	TicketID        string `json:"ticket_id"`
	Seq             uint64 `json:"seq"`
	State           string `json:"state"`
	Hazard          string `json:"hazard"`
	Label           Label  `json:"label"`
	Category        string `json:"category"`
	Kind            string `json:"kind"`
	Level           int    `json:"level"`
	LevelZh         string `json:"level_zh"`
	GradeZh         string `json:"grade_zh"`
	NoticeTypeZh    string `json:"notice_type_zh"`
	GBT45839Status  int    `json:"gbt45839_status"`
	Rule            string `json:"rule"`
	OccurrenceCount int    `json:"occurrence_count"`
	// OccurredAt is when the condition was first observed, not when sent.
	OccurredAt string `json:"occurred_at"`
	// PublishedAt, Seq and Buffered are set by [Stamp] at publish time.
	PublishedAt    string          `json:"published_at,omitempty"`
	Buffered       bool            `json:"buffered"`
	Gateway        Gateway         `json:"gateway"`
	Device         Device          `json:"device"`
	Evidence       *Evidence       `json:"evidence,omitempty"`
	SuggestionZh   string          `json:"suggestion_zh,omitempty"`
	TicketDefaults *TicketDefaults `json:"ticket_defaults,omitempty"`
	// Operation is set on an operation record (state operation) only.
	Operation *Operation `json:"operation,omitempty"`
}

// Label is the hazard's name in Chinese and English.
type Label struct {
	Zh string `json:"zh"`
	En string `json:"en"`
}

// Gateway identifies the gateway and the site it protects.
type Gateway struct {
	ID   string `json:"id"`
	Site Site   `json:"site"`
}

// Site is the protected place (被保护单位) and its administrative identity.
// It carries no personal data.
type Site struct {
	Name         string   `json:"name"`
	ClientZh     string   `json:"client_zh"`
	Address      string   `json:"address"`
	Township     string   `json:"township"`
	TownshipCode string   `json:"township_code"`
	AreaCode     string   `json:"area_code"`
	Community    string   `json:"community"`
	Grid         string   `json:"grid"`
	TrackZh      string   `json:"track_zh"`
	Lat          *float64 `json:"lat,omitempty"`
	Lng          *float64 `json:"lng,omitempty"`
}

// Device is the field device the event is about.
type Device struct {
	ID                   string `json:"id"`
	Name                 string `json:"name"`
	Profile              string `json:"profile"`
	Vendor               string `json:"vendor"`
	Model                string `json:"model"`
	CategoryZh           string `json:"category_zh"`
	GB26875ComponentType int    `json:"gb26875_component_type"`
	NetType              string `json:"net_type"` // "00": wired (GB/T 45839 B.2)
	GBT45839ID           string `json:"gbt45839_id,omitempty"`
	Location             string `json:"location"`
	Bus                  string `json:"bus"`
	Slave                int    `json:"slave"`
}

// TicketDefaults are suggestions for the platform's work order; the
// platform owns status and deadline.
type TicketDefaults struct {
	StatusZh      string `json:"status_zh,omitempty"`
	SourceZh      string `json:"source_zh,omitempty"`
	ManageTypeZh  string `json:"manage_type_zh,omitempty"`
	DeadlineHours int    `json:"deadline_hours,omitempty"`
}

// Marshal encodes the ticket as compact UTF-8 JSON (no HTML escaping).
func (t Ticket) Marshal() ([]byte, error) {
	return marshal(t)
}

// Parse decodes a ticket event.
func Parse(payload []byte) (Ticket, error) {
	var t Ticket
	err := json.Unmarshal(payload, &t)
	return t, err
}
