package outbox

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Memory is an in-memory [Outbox]: the reference implementation for tests
// and the demo. Nothing survives the process. The zero value is not
// usable; call [NewMemory].
type Memory struct {
	mu        sync.Mutex
	recs      []Record // by Seq within each class, sent ones kept
	lastSeq   uint64
	lastTelem uint64
	sent      uint64
	acks      []Ack
	closed    bool
	// uplinks are the declared uplinks ([Cursors]); marks holds, for a
	// record not yet delivered by every uplink, when each uplink that has
	// it delivered it; sentBy counts each uplink's deliveries.
	uplinks []string
	marks   map[uint64]map[string]time.Time
	sentBy  map[string]uint64
}

// NewMemory returns an empty in-memory outbox with one uplink,
// [DefaultUplink].
func NewMemory() *Memory {
	m, _ := NewMemoryUplinks()
	return m
}

// NewMemoryUplinks returns an empty in-memory outbox with one delivery
// cursor per declared uplink ([Cursors]; none declared: [DefaultUplink]).
func NewMemoryUplinks(uplinks ...string) (*Memory, error) {
	names, err := CheckUplinks(uplinks)
	if err != nil {
		return nil, err
	}
	return &Memory{uplinks: names, marks: map[uint64]map[string]time.Time{}, sentBy: map[string]uint64{}}, nil
}

// Append implements [Outbox].
func (m *Memory) Append(ctx context.Context, recs ...Record) ([]Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if err := Validate(recs); err != nil {
		return nil, err
	}
	now := time.Now()
	out := make([]Record, len(recs))
	for i, r := range recs {
		r.Payload = slices.Clone(r.Payload)
		r.SentAt = time.Time{}
		if r.CreatedAt.IsZero() {
			r.CreatedAt = now
		}
		if r.IsTicket() {
			m.lastSeq++
			r.Seq = m.lastSeq
		} else {
			m.lastTelem++
			r.Seq = TelemetrySeqBase + m.lastTelem
		}
		out[i] = r
	}
	m.recs = append(m.recs, out...)
	return slices.Clone(out), nil
}

// Pending implements [Outbox]: the records some uplink has not delivered.
func (m *Memory) Pending(ctx context.Context, max int) ([]Record, error) {
	return m.pending("", max)
}

// pending lists the records uplink u ("": some uplink) has not delivered.
func (m *Memory) pending(u string, max int) ([]Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	var out []Record
	for _, r := range m.recs {
		if m.unsentLocked(r, u) {
			out = append(out, r)
		}
	}
	return firstPending(out, max), nil
}

// unsentLocked reports whether uplink u ("": every uplink) still has to
// deliver r.
func (m *Memory) unsentLocked(r Record, u string) bool {
	if !r.SentAt.IsZero() {
		return false
	}
	if u == "" {
		return true
	}
	_, done := m.marks[r.Seq][u]
	return !done
}

// firstPending sorts unsent records as Pending returns them (Priority,
// then Seq) and keeps the first max of them (all when max <= 0).
func firstPending(recs []Record, max int) []Record {
	slices.SortStableFunc(recs, ComparePending)
	if max > 0 && len(recs) > max {
		recs = recs[:max]
	}
	return recs
}

// MarkSent implements [Outbox]: the records are delivered for every uplink.
func (m *Memory) MarkSent(ctx context.Context, at time.Time, seqs ...uint64) error {
	return m.markSent("", at, seqs)
}

// markSent marks seqs delivered by uplink u ("": by every uplink); a
// record every uplink has delivered gets its SentAt.
func (m *Memory) markSent(u string, at time.Time, seqs []uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	for i := range m.recs {
		r := &m.recs[i]
		if !m.unsentLocked(*r, u) || !slices.Contains(seqs, r.Seq) {
			continue
		}
		for _, name := range m.uplinks {
			if _, done := m.marks[r.Seq][name]; !done && (u == "" || u == name) {
				if m.marks[r.Seq] == nil {
					m.marks[r.Seq] = map[string]time.Time{}
				}
				m.marks[r.Seq][name] = at
				m.sentBy[name]++
			}
		}
		if len(m.marks[r.Seq]) == len(m.uplinks) {
			r.SentAt = at
			m.sent++
			delete(m.marks, r.Seq)
		}
	}
	return nil
}

// Stats implements [Outbox]: a record is unsent until every uplink has it.
func (m *Memory) Stats(ctx context.Context) (Stats, error) {
	return m.stats("")
}

// stats is uplink u's snapshot ("": every uplink's together).
func (m *Memory) stats(u string) (Stats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Stats{}, ErrClosed
	}
	s := Stats{LastSeq: m.lastSeq, Sent: m.sent}
	if u != "" {
		s.Sent = m.sentBy[u]
	}
	for _, r := range m.recs {
		if !m.unsentLocked(r, u) {
			continue
		}
		s.countUnsent(r)
	}
	return s, nil
}

// OpenTickets implements [TicketLister].
func (m *Memory) OpenTickets(ctx context.Context) ([]OpenTicket, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	return OpenFromHistory(m.recs), nil
}

// Ack implements [Acker].
func (m *Memory) Ack(ctx context.Context, ticketID, by string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if !slices.ContainsFunc(m.recs, func(r Record) bool { return r.IsTicket() && r.TicketID == ticketID }) {
		return fmt.Errorf("%w %q", ErrUnknownTicket, ticketID)
	}
	m.acks = append(m.acks, Ack{TicketID: ticketID, By: by, At: at})
	return nil
}

// Acks implements [Acker].
func (m *Memory) Acks(ctx context.Context, ticketID string) ([]Ack, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	var out []Ack
	for _, a := range m.acks {
		if ticketID == "" || a.TicketID == ticketID {
			out = append(out, a)
		}
	}
	return out, nil
}

// Close makes every later call fail with [ErrClosed].
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// ComparePending orders records as Pending returns them: Priority, then Seq.
func ComparePending(a, b Record) int {
	if a.Priority != b.Priority {
		return a.Priority - b.Priority
	}
	switch {
	case a.Seq < b.Seq:
		return -1
	case a.Seq > b.Seq:
		return 1
	}
	return 0
}

// Validate checks records before they are appended.
func Validate(recs []Record) error {
	for i, r := range recs {
		if r.Priority < PriorityLevel1 || r.Priority > PriorityTelemetry {
			return fmt.Errorf("outbox: record %d: priority %d out of range 0..2", i, r.Priority)
		}
		if len(r.Payload) == 0 {
			return fmt.Errorf("outbox: record %d (%s): empty payload", i, r.EventID)
		}
	}
	return nil
}

// OpenFromHistory derives the open tickets from ticket records in seq
// order: a ticket is open when its last event is open or escalate (a
// dropped tombstone leaves the state as it was).
func OpenFromHistory(recs []Record) []OpenTicket {
	byID := map[string]*OpenTicket{}
	open := map[string]bool{}
	var order []string
	for _, r := range recs {
		if !r.IsTicket() || r.TicketID == "" || r.State == "test" {
			continue
		}
		o, seen := byID[r.TicketID]
		if !seen {
			o = &OpenTicket{TicketID: r.TicketID, Since: r.CreatedAt}
			byID[r.TicketID] = o
			order = append(order, r.TicketID)
		}
		o.Device, o.Rule, o.Hazard, o.Level = r.Device, r.Rule, r.Hazard, r.Level
		if r.State != "dropped" {
			open[r.TicketID] = IsOpenState(r.State)
		}
	}
	var out []OpenTicket
	for _, id := range order {
		if open[id] {
			out = append(out, *byID[id])
		}
	}
	return out
}

// Restore implements [Restorer].
func (m *Memory) Restore(ctx context.Context, recs ...Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if err := validateRestore(recs); err != nil {
		return err
	}
	for _, r := range recs {
		if slices.ContainsFunc(m.recs, func(o Record) bool { return o.Seq == r.Seq }) {
			continue
		}
		r.Payload = slices.Clone(r.Payload)
		r.NotDurable = false
		if r.IsTicket() {
			m.lastSeq = max(m.lastSeq, r.Seq)
		} else {
			m.lastTelem = max(m.lastTelem, r.Seq-TelemetrySeqBase)
		}
		if !r.SentAt.IsZero() {
			m.sent++
			for _, name := range m.uplinks {
				m.sentBy[name]++
			}
		}
		m.recs = append(m.recs, r)
	}
	slices.SortStableFunc(m.recs, func(a, b Record) int { return cmp.Compare(a.Seq, b.Seq) })
	return nil
}

// validateRestore checks records given to Restore: valid as for Append,
// with a seq in their class's range.
func validateRestore(recs []Record) error {
	if err := Validate(recs); err != nil {
		return err
	}
	for i, r := range recs {
		if r.IsTicket() && (r.Seq == 0 || r.Seq >= TelemetrySeqBase) {
			return fmt.Errorf("outbox: restore record %d (%s): ticket seq %d out of range 1..%d", i, r.EventID, r.Seq, TelemetrySeqBase-1)
		}
		if !r.IsTicket() && r.Seq <= TelemetrySeqBase {
			return fmt.Errorf("outbox: restore record %d (%s): telemetry seq %d not above %d", i, r.EventID, r.Seq, TelemetrySeqBase)
		}
	}
	return nil
}

// EvictionPlan implements [EvictionPlanner] with [PlanEviction] on the
// records held (Memory itself is unbounded and never evicts).
func (m *Memory) EvictionPlan(ctx context.Context, need int64) ([]Eviction, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return PlanEviction(m.recs, need, m.EvictionFreed), nil
}

// EvictionFreed implements [EvictionPlanner]: the payload's bytes, less a
// tombstone's when the record is replaced by one.
func (m *Memory) EvictionFreed(r Record, tombstone bool) int64 {
	if tombstone {
		return int64(len(r.Payload)) - 600
	}
	return int64(len(r.Payload))
}

// Uplinks implements [Cursors].
func (m *Memory) Uplinks() []string { return slices.Clone(m.uplinks) }

// Uplink implements [Cursors].
func (m *Memory) Uplink(name string) (Outbox, error) {
	if !slices.Contains(m.uplinks, name) {
		return nil, fmt.Errorf("outbox: uplink %q is not declared (declared: %q)", name, m.uplinks)
	}
	return memoryView{m, name}, nil
}

// memoryView is one uplink's view of a [Memory].
type memoryView struct {
	m    *Memory
	name string
}

func (v memoryView) Append(ctx context.Context, recs ...Record) ([]Record, error) {
	return v.m.Append(ctx, recs...)
}

func (v memoryView) Pending(ctx context.Context, max int) ([]Record, error) {
	return v.m.pending(v.name, max)
}

func (v memoryView) MarkSent(ctx context.Context, at time.Time, seqs ...uint64) error {
	return v.m.markSent(v.name, at, seqs)
}

func (v memoryView) Stats(ctx context.Context) (Stats, error) { return v.m.stats(v.name) }
