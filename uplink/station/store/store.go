package store

import (
	"context"
	"errors"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// Bounds on what the store accepts.
const (
	MaxPayload = 64 << 10 // bytes of one stored message
	MaxNote    = 1000     // runes of a step's note
	MaxWho     = 64       // runes of a step's author or a user name
	MaxField   = 256      // bytes of an identifier (ticket_id, event_id, hazard …)
)

// Kind is what a received message is, by its topic.
type Kind int

// Kinds of message.
const (
	KindTicket Kind = iota + 1
	KindStatus
	KindTelemetry
)

// Message is one message as received from the broker, parsed by the
// caller. Reject, when not empty, stores the message as rejected with that
// reason (its payload truncated to MaxPayload); Ticket and Status are then
// ignored.
type Message struct {
	Kind     Kind
	Topic    string
	Township string // from the topic
	Gateway  string // from the topic
	Rx       time.Time
	Retained bool
	Payload  []byte
	Ticket   *ticket.Ticket // KindTicket
	Status   *ticket.Status // KindStatus
	Reject   string
}

// Outcome is what Ingest did with one message.
type Outcome int

// Outcomes of Ingest.
const (
	Stored Outcome = iota + 1
	Duplicate
	Rejected
)

// Order statuses (the lifecycle of DESIGN §11).
const (
	StatusOpen       = "open"        // 待处置
	StatusAssigned   = "assigned"    // 处置中
	StatusResolved   = "resolved"    // 已处置
	StatusReviewed   = "reviewed"    // 已复核 (closed)
	StatusFalseAlarm = "false_alarm" // 误报 (closed)
)

// Origins of an order.
const (
	OriginGateway = "gateway"      // a ticket_id from a gateway
	OriginLost    = "gateway_lost" // 网关失联, raised by the station's watchdog
	OriginMissing = "data_missing" // 数据缺失, raised by the station's watchdog
)

// Order is one work order.
type Order struct {
	ID            int64      `json:"id"`
	TicketID      string     `json:"ticket_id"`
	Origin        string     `json:"origin"`
	Township      string     `json:"township"`
	Gateway       string     `json:"gateway"`
	Hazard        string     `json:"hazard"`
	LabelZh       string     `json:"label_zh"`
	LabelEn       string     `json:"label_en"`
	Level         int        `json:"level"`
	Device        string     `json:"device"`
	Site          string     `json:"site"`
	Location      string     `json:"location"`
	Status        string     `json:"status"`
	StatusZh      string     `json:"status_zh"`
	Cleared       bool       `json:"cleared"`
	LastState     string     `json:"last_state"`
	MissingEvents int        `json:"missing_events"`
	Detail        string     `json:"detail,omitempty"`
	OpenedAt      time.Time  `json:"opened_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	ClosedAt      *time.Time `json:"closed_at,omitempty"`
}

// Step is one lifecycle step of an order.
type Step struct {
	Action string    `json:"action"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Note   string    `json:"note"`
}

// Event is one stored ticket event.
type Event struct {
	EventID    string    `json:"event_id"`
	TicketID   string    `json:"ticket_id"`
	Township   string    `json:"township"`
	Gateway    string    `json:"gateway"`
	Seq        uint64    `json:"seq"`
	State      string    `json:"state"`
	Hazard     string    `json:"hazard"`
	LabelZh    string    `json:"label_zh"`
	Level      int       `json:"level"`
	Device     string    `json:"device"`
	OccurredAt string    `json:"occurred_at"`
	ReceivedAt time.Time `json:"received_at"`
	Payload    []byte    `json:"-"`
}

// Gateway is what the station knows of one gateway.
type Gateway struct {
	ID          string    `json:"id"`
	Township    string    `json:"township"`
	State       string    `json:"state"`       // online | offline | "" (no status yet)
	LastStatus  time.Time `json:"last_status"` // receipt of the last status
	StatusAt    string    `json:"status_at"`   // the status's own `at`
	BufferDepth int       `json:"buffer_depth"`
	Version     string    `json:"version"`
	Events      int64     `json:"events"`
	Dropped     int64     `json:"dropped"` // tombstones received
	Telemetry   int64     `json:"telemetry"`
	HiSeq       uint64    `json:"hi_seq"`
	OpenGaps    []Gap     `json:"open_gaps"`
}

// Gap is a missing seq range of one gateway, as it opened.
type Gap struct {
	ID       int64      `json:"id"`
	Gateway  string     `json:"gateway"`
	Township string     `json:"township"`
	From     uint64     `json:"from"`
	To       uint64     `json:"to"`
	Left     uint64     `json:"left"` // seqs of the range still missing
	OpenedAt time.Time  `json:"opened_at"`
	ClosedAt *time.Time `json:"closed_at,omitempty"`
}

// Filter selects history events. Zero fields do not filter.
type Filter struct {
	Township, Gateway, Hazard string
	Level                     int
	From, To                  time.Time // received between
	Limit                     int       // default and maximum 10 000
}

// Transition is one lifecycle request on an order.
type Transition struct {
	OrderID int64
	Action  string // see Actions
	By      string
	Note    string
	At      time.Time
}

// Errors of the store.
var (
	ErrNotFound   = errors.New("not found")
	ErrTransition = errors.New("transition not allowed")
	ErrInput      = errors.New("bad input")
)

// Ingester stores received messages.
type Ingester interface {
	// Ingest commits the batch in one transaction; the outcomes are in
	// the batch's order. Nothing is committed when it returns an error.
	Ingest(ctx context.Context, msgs []Message) ([]Outcome, error)
}

// Orders is the work-order side.
type Orders interface {
	// OpenOrders lists orders not closed, by level then age.
	OpenOrders(ctx context.Context) ([]Order, error)
	// Order returns one order with its steps and its events in seq order.
	Order(ctx context.Context, id int64) (Order, []Step, []Event, error)
	// Apply performs a lifecycle transition (see Next).
	Apply(ctx context.Context, tr Transition) (Order, error)
	// Watch raises or clears the station's own orders (watchdog).
	Watch(ctx context.Context, w Watch) error
}

// Records is the read side of what was received.
type Records interface {
	Gateways(ctx context.Context) ([]Gateway, error)
	History(ctx context.Context, f Filter) ([]Event, error)
	Counts(ctx context.Context) (Counts, error)
	// Rejected lists the latest refused messages, newest first.
	Rejected(ctx context.Context, limit int) ([]RejectedMessage, error)
}

// RejectedMessage is a message kept because it was refused.
type RejectedMessage struct {
	Topic      string    `json:"topic"`
	ReceivedAt time.Time `json:"received_at"`
	Reason     string    `json:"reason"`
	Size       int       `json:"size"`
}

// Accounts keeps users, sessions and API tokens. Secrets are stored only
// as hashes made by the caller.
type Accounts interface {
	PutUser(ctx context.Context, name, hash string, now time.Time) error
	UserHash(ctx context.Context, name string) (string, error)
	PutSecret(ctx context.Context, s Secret) error
	LookupSecret(ctx context.Context, hash string, now time.Time) (Secret, error)
	DropSecret(ctx context.Context, hash string) error
}

// Store is the whole contract.
type Store interface {
	Ingester
	Orders
	Records
	Accounts
	Close() error
}

// Secret is a session or an API token, by the SHA-256 of its value.
type Secret struct {
	Hash    string
	User    string
	Kind    string    // "session" | "token"
	CSRF    string    // sessions only
	Expires time.Time // zero: never (tokens)
}

// Counts are totals over the store.
type Counts struct {
	Events     int64 `json:"events"`
	Duplicates int64 `json:"duplicates"`
	Rejected   int64 `json:"rejected"`
	Tombstones int64 `json:"tombstones"`
	OpenGaps   int64 `json:"open_gaps"`
	OpenOrders int64 `json:"open_orders"`
}

// Watch is the watchdog's verdict at one instant: the gateways lost (no
// heartbeat or last will) and the gaps open too long. Orders for those not
// yet raised are raised; station orders whose cause is no longer listed
// are cleared.
type Watch struct {
	At   time.Time
	Lost map[string]string // gateway → reason
	Gaps []Gap
}
