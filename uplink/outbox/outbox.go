// Package outbox is the durable queue between the rule engine and the MQTT
// link: the single source of truth for what the township has and has not
// received (DESIGN §1, §6).
//
// Contract of every [Outbox]:
//   - Append assigns Seq to each record, in argument order, and commits all
//     of them in one transaction before it returns nil. Ticket seqs
//     (Priority 0 and 1) are gap-free and never repeat, even after a
//     restart; telemetry (Priority 2) is numbered separately from
//     [TelemetrySeqBase] so it never makes a hole in the ticket seq.
//   - Pending returns unsent records by Priority, then Seq.
//   - MarkSent is called only after the broker's PUBACK; marking an unknown
//     or already-sent seq is not an error.
//   - All methods are safe for concurrent use.
//
// Several uplinks (MQTT and GB/T 26875.3, DESIGN §6): an outbox opened
// with several declared uplinks keeps one delivery cursor per uplink and
// implements [Cursors]; [For] gives each uplink a view that is an
// [Outbox] with this same contract for that uplink alone.
//
// Implementations: [Memory] here (tests, demo) and the SQLite store in
// outbox/sqlite. outbox/outboxtest checks both against this contract.
package outbox

import (
	"context"
	"errors"
	"time"
)

// Priority classes, most urgent first (GB 26875.1 4.1.2.3: fire first).
// PriorityLevel1 is the fire class: the gateway gives it to every event of
// a kind-alarm hazard (any level) and to any level-1 event.
const (
	PriorityLevel1    = 0 // a fire-class ticket event: kind alarm, or level 1
	PriorityTicket    = 1 // any other ticket event
	PriorityTelemetry = 2 // a telemetry snapshot (no ticket seq)
)

// TelemetrySeqBase is the first Seq given to telemetry records; ticket
// records count from 1 and stay below it.
const TelemetrySeqBase uint64 = 1 << 62

// ErrClosed is returned by the methods of a closed outbox.
var ErrClosed = errors.New("outbox: closed")

// ErrFull is wrapped by Append when the outbox cannot grow (disk full or
// database size limit reached). Stored records can still be drained.
var ErrFull = errors.New("outbox: disk or outbox full")

// Record is one queued message.
type Record struct {
	Seq      uint64 // set by Append
	EventID  string
	TicketID string
	State    string // open | escalate | clear | test | dropped; "" for telemetry
	Hazard   string
	Rule     string
	Device   string
	Level    int
	Priority int    // PriorityLevel1, PriorityTicket or PriorityTelemetry
	Payload  []byte // the ticket as marshalled by uplink/ticket, before Stamp
	// CreatedAt is when the record was appended (set by Append when zero).
	CreatedAt time.Time
	// SentAt is when its PUBACK arrived; zero while pending.
	SentAt time.Time
	// NotDurable is set by a [Guard] on a record it keeps only in memory
	// because the store refuses writes; the link stamps such a ticket
	// "durable": false. It is never stored.
	NotDurable bool
}

// IsTicket reports whether the record is a ticket event (not telemetry).
func (r Record) IsTicket() bool { return r.Priority != PriorityTelemetry }

// Stats is a snapshot of the queue.
type Stats struct {
	Depth        int       // unsent records
	OldestUnsent time.Time // CreatedAt of the oldest unsent record; zero when empty
	LastSeq      uint64    // last ticket seq assigned
	Sent         uint64    // records marked sent
	// OldestUnsentTicket is CreatedAt of the oldest unsent ticket record
	// (telemetry ignored): what R25 watches.
	OldestUnsentTicket time.Time
	// DroppedTickets and DroppedTelemetry count unsent records the bounded
	// outbox had to drop (a dropped ticket leaves a tombstone).
	DroppedTickets, DroppedTelemetry uint64
}

// countUnsent adds an unsent record to the depth and the oldest times.
func (s *Stats) countUnsent(r Record) {
	s.Depth++
	if s.OldestUnsent.IsZero() || r.CreatedAt.Before(s.OldestUnsent) {
		s.OldestUnsent = r.CreatedAt
	}
	if r.IsTicket() && (s.OldestUnsentTicket.IsZero() || r.CreatedAt.Before(s.OldestUnsentTicket)) {
		s.OldestUnsentTicket = r.CreatedAt
	}
}

// Outbox is the durable queue. See the package doc for the contract.
type Outbox interface {
	// Append assigns Seq and commits the records durably, in one
	// transaction, before returning them with Seq (and CreatedAt) set.
	Append(ctx context.Context, recs ...Record) ([]Record, error)
	// Pending returns up to max unsent records, by Priority then Seq.
	Pending(ctx context.Context, max int) ([]Record, error)
	// MarkSent records that the broker acknowledged these seqs at `at`.
	MarkSent(ctx context.Context, at time.Time, seqs ...uint64) error
	// Stats returns the queue's depth and counters.
	Stats(ctx context.Context) (Stats, error)
}

// OpenTicket is a hazard episode whose last event was open or escalate: what
// a restarted rule engine must not open again.
type OpenTicket struct {
	TicketID string
	Device   string
	Rule     string
	Hazard   string
	Level    int       // level of the last event
	Since    time.Time // CreatedAt of the episode's first record
}

// TicketLister is implemented by outboxes that can list open tickets.
type TicketLister interface {
	OpenTickets(ctx context.Context) ([]OpenTicket, error)
}

// IsOpenState reports whether a ticket in this state is still open.
func IsOpenState(state string) bool { return state == "open" || state == "escalate" }

// ErrUnknownTicket says no record of the ticket id is in the outbox.
var ErrUnknownTicket = errors.New("outbox: unknown ticket")

// Ack is the township's acknowledgement of a ticket (downlink cmd "ack").
type Ack struct {
	TicketID string
	By       string
	At       time.Time
}

// Acker is implemented by outboxes that record acknowledgements.
type Acker interface {
	// Ack records that `by` acknowledged ticketID at `at`; an id with no
	// record in the outbox is an error wrapping ErrUnknownTicket.
	Ack(ctx context.Context, ticketID, by string, at time.Time) error
	// Acks returns the acknowledgements of ticketID ("" for all), oldest first.
	Acks(ctx context.Context, ticketID string) ([]Ack, error)
}

// Retention says which delivered records Prune may delete: ticket records
// older than Tickets AND beyond the newest KeepTickets; telemetry older
// than Telemetry.
type Retention struct {
	Tickets     time.Duration // default 30 days (GB/T 45839 5.3.3)
	KeepTickets int           // default 999 (GB/T 45839 5.9.5)
	Telemetry   time.Duration // default 24 h
}

// DefaultRetention is DESIGN §6.
var DefaultRetention = Retention{Tickets: 30 * 24 * time.Hour, KeepTickets: 999, Telemetry: 24 * time.Hour}

// Evicted says what one eviction pass removed.
type Evicted struct {
	Telemetry        int // telemetry records deleted (sent or not)
	DroppedTelemetry int // of which unsent: counted as dropped
	DeliveredTickets int // delivered ticket records deleted
	Tombstoned       int // unsent ticket records replaced by a tombstone
	SizeBefore       int64
	SizeAfter        int64
}

// Maintainer is implemented by bounded outboxes (the SQLite store).
type Maintainer interface {
	// Prune deletes delivered records beyond r as of now; it returns how
	// many it deleted. The latest record of an open ticket is kept.
	Prune(ctx context.Context, now time.Time, r Retention) (int, error)
	// Evict enforces maxBytes in the order of DESIGN §6.
	Evict(ctx context.Context, maxBytes int64) (Evicted, error)
}

// Restorer is implemented by outboxes that can commit records whose Seq was
// assigned before they were stored: the events a storage fault kept in
// memory (and published) while the store refused writes, or those spilled
// to the fallback file at shutdown (DESIGN §6, issue 15).
type Restorer interface {
	// Restore commits recs with their own Seq (tickets below
	// [TelemetrySeqBase], telemetry above it), CreatedAt and SentAt (zero =
	// still pending), all in one transaction. A seq already stored is left
	// as it is, so Restore is idempotent. The ticket and telemetry counters
	// advance to at least the largest seq given, so a later Append never
	// reuses one.
	Restore(ctx context.Context, recs ...Record) error
}

// SeqReserver is implemented by outboxes that can record, outside their
// database, ticket seqs assigned while the database refused writes (the
// SQLite store's state file): a database lost before those records are
// restored then never gives their seqs to other events.
type SeqReserver interface {
	ReserveSeq(seq uint64) error
}

// FileChecker is implemented by stores kept in a file: CheckFile reports
// whether the file is still the one opened (not deleted or replaced while
// running).
type FileChecker interface{ CheckFile() error }
