package outbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// ErrNotDurable is wrapped by [Guard.Append] when the store refused the
// records and the guard kept them in memory instead: the returned records
// are valid (Seq set) and will be published, but they are not durable yet.
var ErrNotDurable = errors.New("outbox: not durable (kept in memory while the store refuses writes)")

// Bounds of a guard's memory queue (DESIGN §6, issue 15): what a storage
// fault may hold in memory before the guard sheds. At the bound the queue
// holds at most MaxBytes of payloads and per-record overhead; the bytes
// bound bites first with real tickets (≈ 1–1.5 KiB, ≈ 0.6 KiB as tombstones).
const (
	DefaultGuardMaxRecords = 20_000
	DefaultGuardMaxBytes   = 8 << 20
	// DefaultGuardMaxDelivered bounds the delivered seqs whose MarkSent the
	// store refused, remembered until it accepts them.
	DefaultGuardMaxDelivered = 100_000
)

// appendRetryEvery is how often an Append tries to restore the memory
// queue into a refusing store (Retry always tries).
const (
	appendRetryEvery = 100 * time.Millisecond
	appendRetryAll   = 256 // below this many records every Append tries
)

// memOverhead is the estimated bytes of a memory record beyond its payload.
const memOverhead = 256

// GuardOptions configure a [Guard]. Zero values take the defaults.
type GuardOptions struct {
	MaxRecords   int   // memory records; default DefaultGuardMaxRecords
	MaxBytes     int64 // memory bytes (payloads + overhead); default DefaultGuardMaxBytes
	MaxDelivered int   // remembered delivered seqs; default DefaultGuardMaxDelivered
	Logger       *slog.Logger
}

// GuardStats is what a guard adds to its store's [Stats].
type GuardStats struct {
	// NotDurable counts records kept only in memory (published or not).
	NotDurable      int
	NotDurableBytes int64
	// FailingSince is when the store first refused a write of the current
	// fault; zero while it accepts writes.
	FailingSince time.Time
	// LastError is the store's last refusal ("" when none).
	LastError string
	// Unmarked counts delivered records whose MarkSent the store refused.
	Unmarked int
	// ShedTickets counts ticket records the memory queue replaced by a
	// tombstone; ShedTelemetry telemetry records it dropped; ShedDelivered
	// delivered ticket records it dropped (the station has them; the
	// records do not); Lost unsent ticket records it had to drop entirely
	// (a seq gap the station sees).
	ShedTickets, ShedTelemetry, ShedDelivered, Lost uint64
}

// Failing reports whether the store refuses writes.
func (s GuardStats) Failing() bool { return !s.FailingSince.IsZero() }

// Guard wraps the durable store so that a storage fault never holds back
// an alarm (issue 15). Append tries the store; when the store refuses (a
// full disk, an I/O error), the guard assigns the seqs itself, continuing
// the store's, keeps the records in a bounded memory queue, returns them
// with an error wrapping [ErrNotDurable], and restores them into the store
// (with their own seqs, [Restorer]) at every later Append and [Guard.Retry].
// Pending merges the memory queue with the store's pending records, so the
// link publishes a fire alarm at once, marked [Record.NotDurable].
//
// MarkSent of a memory record is remembered and restored with it; a
// MarkSent the store refuses is remembered (bounded) and retried, and those
// seqs are left out of Pending, so the link never republishes them in a
// loop.
//
// The memory queue is bounded (GuardOptions); over the bound it sheds in
// the order of DESIGN §6: telemetry, then delivered tickets, then unsent
// tickets of cleared episodes, then by level (4, 3, 2) oldest first, each
// replaced by a tombstone; never an open or escalated level-1 (priority 0)
// event. If tombstones alone still exceed the bound, the oldest of them
// is dropped: a counted, logged loss.
type Guard struct {
	store    Outbox
	restorer Restorer // nil: the store cannot take records back
	opts     GuardOptions
	log      *slog.Logger

	appendMu sync.Mutex // serialises Append, Restore and Retry (seq assignment)

	mu        sync.Mutex // guards the fields below
	mem       []Record   // not durable, by Seq within class
	memBytes  int64
	unmarked  map[uint64]time.Time // delivered, store refused MarkSent
	lastSeq   uint64               // largest ticket seq known
	lastTelem uint64               // largest telemetry seq known (0: unknown)
	failing   time.Time
	lastErr   string
	loggedAt  time.Time
	triedAt   time.Time // last restore attempt
	// cleared: whether each ticket in memory was last seen cleared (kept
	// apart from the records, whose state a tombstone overwrites)
	cleared map[string]bool
	st      GuardStats // shed counters

	// Several uplinks ([Cursors]): the store's view of each, the marks of
	// memory records some uplinks (not all) delivered, and each uplink's
	// marks the store refused. With one uplink these stay empty.
	uplinks    []string
	views      map[string]Outbox
	memMarks   map[uint64]map[string]time.Time
	unmarkedBy map[string]map[uint64]time.Time
}

// NewGuard wraps store. It reads the store's LastSeq, so the store must be
// readable. A store that does not implement [Restorer] still gets a
// guard, but the records it keeps in memory can never be stored (they are
// published, then lost at exit): a configuration error that the log says.
func NewGuard(ctx context.Context, store Outbox, opts GuardOptions) (*Guard, error) {
	if opts.MaxRecords <= 0 {
		opts.MaxRecords = DefaultGuardMaxRecords
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultGuardMaxBytes
	}
	if opts.MaxDelivered <= 0 {
		opts.MaxDelivered = DefaultGuardMaxDelivered
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	st, err := store.Stats(ctx)
	if err != nil {
		return nil, fmt.Errorf("outbox guard: reading the store's last seq: %w", err)
	}
	g := &Guard{store: store, opts: opts, log: log, unmarked: map[uint64]time.Time{}, lastSeq: st.LastSeq, cleared: map[string]bool{}}
	if err := g.initUplinks(); err != nil {
		return nil, err
	}
	g.restorer, _ = store.(Restorer)
	if g.restorer == nil {
		log.Warn("outbox guard: the store cannot restore records; events kept in memory during a storage fault are published but never stored", "store", fmt.Sprintf("%T", store))
	}
	return g, nil
}

// Store returns the wrapped store.
func (g *Guard) Store() Outbox { return g.store }

// Append implements [Outbox]. See [Guard] for what happens when the store
// refuses; the error then wraps [ErrNotDurable] (and the store's error) and
// the records are returned all the same.
func (g *Guard) Append(ctx context.Context, recs ...Record) ([]Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := Validate(recs); err != nil {
		return nil, err
	}
	g.appendMu.Lock()
	defer g.appendMu.Unlock()
	var storeErr error
	if stored, _ := g.restoreLocked(ctx, false); stored {
		out, err := g.store.Append(ctx, recs...)
		if err == nil {
			g.noteStored(out)
			return out, nil
		}
		if errors.Is(err, ErrClosed) || ctx.Err() != nil {
			return nil, err
		}
		storeErr = err
	} else {
		g.mu.Lock()
		storeErr = errors.New(g.lastErr)
		g.mu.Unlock()
	}
	g.refused(storeErr)
	// Continue the store's seq: the largest known, or the store's own count
	// if it can still be read.
	if st, err := g.store.Stats(ctx); err == nil {
		g.mu.Lock()
		g.lastSeq = max(g.lastSeq, st.LastSeq)
		g.mu.Unlock()
	}
	now := time.Now()
	g.mu.Lock()
	out := make([]Record, len(recs))
	for i, r := range recs {
		r.Payload = slices.Clone(r.Payload)
		r.SentAt = time.Time{}
		r.NotDurable = true
		if r.CreatedAt.IsZero() {
			r.CreatedAt = now
		}
		if r.IsTicket() {
			g.lastSeq++
			r.Seq = g.lastSeq
		} else {
			if g.lastTelem == 0 {
				// Unknown (nothing appended yet): a value no counter that
				// increments by one has reached; telemetry seqs need only
				// increase.
				g.lastTelem = TelemetrySeqBase + uint64(now.UnixMicro())
			}
			g.lastTelem++
			r.Seq = g.lastTelem
		}
		out[i] = r
		g.addLocked(r)
	}
	g.shedLocked()
	last := g.lastSeq
	g.mu.Unlock()
	g.reserve(out, last)
	return out, fmt.Errorf("%w: %w", ErrNotDurable, storeErr)
}

// reserve records the ticket seqs just assigned in memory where the store
// keeps them outside its database (SeqReserver), so that a crash that
// loses the memory queue never lets its seqs be given to other events.
// It costs one small synced write per refused Append and needs no new
// disk space; a failure is logged, as the records are already queued.
func (g *Guard) reserve(recs []Record, last uint64) {
	sr, ok := g.store.(SeqReserver)
	if !ok || !slices.ContainsFunc(recs, Record.IsTicket) {
		return
	}
	if err := sr.ReserveSeq(last); err != nil {
		g.log.Error("outbox: cannot reserve the seqs of events kept in memory", "last_seq", last, "err", err)
	}
}

// noteStored learns the seqs the store assigned.
func (g *Guard) noteStored(recs []Record) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range recs {
		if r.IsTicket() {
			g.lastSeq = max(g.lastSeq, r.Seq)
		} else {
			g.lastTelem = max(g.lastTelem, r.Seq)
		}
	}
	g.recoveredLocked()
}

// refused notes a store refusal; it is logged at onset, then at most once
// a minute.
func (g *Guard) refused(err error) {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failing.IsZero() {
		g.failing = now
	}
	g.lastErr = err.Error()
	if !g.loggedAt.IsZero() && now.Sub(g.loggedAt) < time.Minute {
		return
	}
	g.loggedAt = now
	msg := "STORAGE FAULT: the outbox refuses writes; events are kept in memory (bounded), published at once and stored when it accepts writes again"
	if errors.Is(err, ErrFull) {
		msg = "STORAGE FAULT (OUTBOX FULL): the disk or the outbox cannot grow; events are kept in memory (bounded), published at once and stored when space returns"
	}
	g.log.Error(msg, "kept_in_memory", len(g.mem), "failing_for", now.Sub(g.failing).Round(time.Second), "err", err)
}

// recoveredLocked ends a fault once nothing waits in memory.
func (g *Guard) recoveredLocked() {
	if g.failing.IsZero() || len(g.mem) > 0 || len(g.unmarked) > 0 || g.unmarkedByLen() > 0 {
		return
	}
	g.log.Info("storage fault over: the outbox accepts writes again; every event kept in memory is stored",
		"failing_for", time.Since(g.failing).Round(time.Second))
	g.failing, g.lastErr, g.loggedAt = time.Time{}, "", time.Time{}
}

// Retry restores the memory queue into the store and marks the delivered
// seqs the store refused; the daemon calls it every second. It returns nil
// once nothing waits.
func (g *Guard) Retry(ctx context.Context) error {
	g.appendMu.Lock()
	defer g.appendMu.Unlock()
	if _, done := g.restoreLocked(ctx, true); !done {
		g.mu.Lock()
		defer g.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrNotDurable, g.lastErr)
	}
	return nil
}

// restoreLocked (appendMu held) stores the memory queue, then retries the
// refused marks; it reports whether the memory queue is empty (the store
// may number new records) and whether nothing waits at all.
//
// Unless force, with appendRetryAll records or more in memory a refusing
// store is tried again at most every appendRetryEvery, so a burst of
// appends does not copy a large queue for each one.
func (g *Guard) restoreLocked(ctx context.Context, force bool) (stored, done bool) {
	g.mu.Lock()
	if len(g.mem) >= appendRetryAll && !force && time.Since(g.triedAt) < appendRetryEvery {
		g.mu.Unlock()
		return false, false
	}
	recs := slices.Clone(g.mem)
	g.triedAt = time.Now()
	g.mu.Unlock()
	if len(recs) > 0 {
		if g.restorer == nil {
			g.refused(errors.New("the store cannot restore records"))
			return false, false
		}
		if err := g.restorer.Restore(ctx, recs...); err != nil {
			g.refused(fmt.Errorf("restore: %w", err))
			return false, false
		}
		g.mu.Lock()
		// Only Append and Restore (appendMu) add or remove memory records,
		// so g.mem[:n] are recs; a mark that arrived meanwhile is retried.
		n := len(recs)
		for i, r := range g.mem[:n] {
			if !r.SentAt.IsZero() && recs[i].SentAt.IsZero() {
				g.unmarked[r.Seq] = r.SentAt
			}
			g.moveMarksLocked(r.Seq)
			g.memBytes -= recBytes(r)
		}
		g.mem = slices.Delete(g.mem, 0, n)
		if len(g.mem) == 0 {
			clear(g.cleared)
		}
		g.mu.Unlock()
		g.log.Info("outbox: events kept in memory during the storage fault are stored", "events", n)
	}
	g.mu.Lock()
	marks := make(map[time.Time][]uint64)
	for seq, at := range g.unmarked {
		marks[at] = append(marks[at], seq)
	}
	g.mu.Unlock()
	for at, seqs := range marks {
		if err := g.store.MarkSent(ctx, at, seqs...); err != nil {
			g.refused(fmt.Errorf("mark sent: %w", err))
			return true, false
		}
		g.mu.Lock()
		for _, s := range seqs {
			delete(g.unmarked, s)
		}
		g.mu.Unlock()
	}
	if err := g.retryUplinkMarks(ctx); err != nil {
		g.refused(fmt.Errorf("mark sent: %w", err))
		return true, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.recoveredLocked()
	return true, true
}

// Restore implements [Restorer]: records from elsewhere (the fallback file
// written at the last stop) join the memory queue with their own seqs and
// are restored into the store at once if it accepts writes. A seq already
// in memory is left as it is.
func (g *Guard) Restore(ctx context.Context, recs ...Record) error {
	if err := validateRestore(recs); err != nil {
		return err
	}
	g.appendMu.Lock()
	defer g.appendMu.Unlock()
	g.mu.Lock()
	for _, r := range recs {
		if slices.ContainsFunc(g.mem, func(o Record) bool { return o.Seq == r.Seq }) {
			continue
		}
		r.Payload = slices.Clone(r.Payload)
		r.NotDurable = true
		if r.IsTicket() {
			g.lastSeq = max(g.lastSeq, r.Seq)
		} else {
			g.lastTelem = max(g.lastTelem, r.Seq)
		}
		g.addLocked(r)
	}
	slices.SortStableFunc(g.mem, func(a, b Record) int { return cmpSeq(a.Seq, b.Seq) })
	g.shedLocked()
	g.mu.Unlock()
	if _, done := g.restoreLocked(ctx, true); !done {
		g.mu.Lock()
		defer g.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrNotDurable, g.lastErr)
	}
	return nil
}

// Unstored returns a copy of the records kept only in memory (SentAt set on
// those already delivered): what a stop writes to the fallback file.
func (g *Guard) Unstored() []Record {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := slices.Clone(g.mem)
	for i := range out {
		out[i].Payload = slices.Clone(out[i].Payload)
	}
	return out
}

// Pending implements [Outbox]: the store's pending records without the
// delivered ones it refused to mark, merged with the unsent memory
// records, by Priority then Seq. While the store cannot be read, the
// memory records alone (an error only when there are none).
func (g *Guard) Pending(ctx context.Context, max int) ([]Record, error) {
	return g.mergePending(ctx, max, func(r Record) bool { return r.SentAt.IsZero() },
		func() []map[uint64]time.Time { return []map[uint64]time.Time{g.unmarked} }, g.store.Pending)
}

// mergePending merges the memory records unsentLocked keeps with what
// fetch reads from the store, by Priority then Seq. skip: seqs the store
// may still list as pending but that must not be published (again): the
// delivered ones it refused to mark (the maps unmarkedLocked returns) and
// the memory records (the unsent ones are in out). Taken before the store
// is read and again after, so a record moving between memory and store,
// or a mark landing meanwhile, is never returned twice. While the store
// cannot be read, the memory records alone (an error only when there are
// none).
func (g *Guard) mergePending(ctx context.Context, max int, unsentLocked func(Record) bool,
	unmarkedLocked func() []map[uint64]time.Time, fetch func(context.Context, int) ([]Record, error)) ([]Record, error) {
	var out []Record
	skip := map[uint64]bool{}
	note := func() {
		for _, m := range unmarkedLocked() {
			for seq := range m {
				skip[seq] = true
			}
		}
		for _, r := range g.mem {
			skip[r.Seq] = true
		}
	}
	g.mu.Lock()
	for _, r := range g.mem {
		if unsentLocked(r) {
			out = append(out, r)
		}
	}
	note()
	g.mu.Unlock()
	n := max
	if n > 0 {
		n += len(skip)
	}
	stored, err := fetch(ctx, n)
	if err != nil && len(out) == 0 {
		return nil, err
	}
	g.mu.Lock()
	note()
	g.mu.Unlock()
	for _, r := range stored {
		if !skip[r.Seq] {
			out = append(out, r)
		}
	}
	return firstPending(out, max), nil
}

// MarkSent implements [Outbox]. A memory record is marked in memory (and
// restored as sent); a mark the store refuses is remembered and retried,
// and not an error unless the memory for such marks is full.
func (g *Guard) MarkSent(ctx context.Context, at time.Time, seqs ...uint64) error {
	var toStore []uint64
	g.mu.Lock()
	for _, s := range seqs {
		i := slices.IndexFunc(g.mem, func(r Record) bool { return r.Seq == s })
		switch {
		case i < 0:
			toStore = append(toStore, s)
		case g.mem[i].SentAt.IsZero():
			g.mem[i].SentAt = at
			delete(g.memMarks, s)
		}
	}
	g.mu.Unlock()
	if len(toStore) == 0 {
		return nil
	}
	err := g.store.MarkSent(ctx, at, toStore...)
	if err == nil || errors.Is(err, ErrClosed) {
		return err
	}
	g.refused(fmt.Errorf("mark sent: %w", err))
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.unmarked)+len(toStore) > g.opts.MaxDelivered {
		return fmt.Errorf("outbox guard: %d delivered records wait to be marked (bound %d): %w", len(g.unmarked), g.opts.MaxDelivered, err)
	}
	for _, s := range toStore {
		g.unmarked[s] = at
	}
	return nil
}

// Stats implements [Outbox]: the store's, with the memory queue counted in
// Depth, OldestUnsent and LastSeq, the refused marks not counted as
// unsent, and the shed records in the dropped counts.
func (g *Guard) Stats(ctx context.Context) (Stats, error) {
	s, err := g.store.Stats(ctx)
	if err != nil {
		return s, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	s.Depth = max(s.Depth-len(g.unmarked), 0)
	s.LastSeq = max(s.LastSeq, g.lastSeq)
	for _, r := range g.mem {
		if !r.SentAt.IsZero() {
			continue
		}
		s.countUnsent(r)
	}
	s.DroppedTickets += g.st.ShedTickets + g.st.Lost
	s.DroppedTelemetry += g.st.ShedTelemetry
	return s, nil
}

// GuardStats returns the guard's own figures.
func (g *Guard) GuardStats() GuardStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.st
	s.NotDurable, s.NotDurableBytes = len(g.mem), g.memBytes
	s.FailingSince, s.LastError, s.Unmarked = g.failing, g.lastErr, len(g.unmarked)+g.unmarkedByLen()
	return s
}

// Prune implements [Maintainer] when the store does.
func (g *Guard) Prune(ctx context.Context, now time.Time, r Retention) (int, error) {
	if m, ok := g.store.(Maintainer); ok {
		return m.Prune(ctx, now, r)
	}
	return 0, nil
}

// Evict implements [Maintainer] when the store does.
func (g *Guard) Evict(ctx context.Context, maxBytes int64) (Evicted, error) {
	if m, ok := g.store.(Maintainer); ok {
		return m.Evict(ctx, maxBytes)
	}
	return Evicted{}, nil
}

// Ack implements [Acker] when the store does.
func (g *Guard) Ack(ctx context.Context, ticketID, by string, at time.Time) error {
	a, ok := g.store.(Acker)
	if !ok {
		return errors.New("outbox: the store does not record acks")
	}
	err := a.Ack(ctx, ticketID, by, at)
	if errors.Is(err, ErrUnknownTicket) {
		g.mu.Lock()
		inMem := slices.ContainsFunc(g.mem, func(r Record) bool { return r.IsTicket() && r.TicketID == ticketID })
		g.mu.Unlock()
		if inMem {
			return fmt.Errorf("outbox: ticket %q is not stored yet (storage fault); ack again later", ticketID)
		}
	}
	return err
}

// Acks implements [Acker] when the store does.
func (g *Guard) Acks(ctx context.Context, ticketID string) ([]Ack, error) {
	a, ok := g.store.(Acker)
	if !ok {
		return nil, nil
	}
	return a.Acks(ctx, ticketID)
}

// shedLocked (mu held) brings the memory queue within its bounds.
func (g *Guard) shedLocked() {
	over := func() bool { return len(g.mem) > g.opts.MaxRecords || g.memBytes > g.opts.MaxBytes }
	if !over() {
		return
	}
	// Shed to 90 % of the bounds, so that a flood at the bound pays for a
	// shedding pass once per tenth of the queue, not on every append.
	maxRecs, maxBytes := g.opts.MaxRecords*9/10, g.opts.MaxBytes*9/10
	over = func() bool { return len(g.mem) > maxRecs || g.memBytes > maxBytes }
	before := g.st
	// 1. Telemetry, oldest first.
	for i := 0; i < len(g.mem) && over(); {
		if g.mem[i].IsTicket() {
			i++
			continue
		}
		g.dropLocked(i)
		g.st.ShedTelemetry++
	}
	// 2. Delivered tickets, oldest first: the station has them.
	for i := 0; i < len(g.mem) && over(); {
		if g.mem[i].SentAt.IsZero() {
			i++
			continue
		}
		g.dropLocked(i)
		g.st.ShedDelivered++
	}
	// 3. Unsent tickets become tombstones (when that saves bytes): cleared
	// episodes first, then by level 4, 3, 2 (and level-1 events that are
	// not open), oldest first.
	for _, i := range g.shedOrderLocked() {
		if g.memBytes <= maxBytes {
			break
		}
		r := &g.mem[i]
		if r.State == "dropped" {
			continue
		}
		p, err := TombstonePayload(*r)
		if err != nil || len(p) >= len(r.Payload) {
			continue
		}
		g.memBytes += int64(len(p) - len(r.Payload))
		r.Payload, r.State = p, "dropped"
		g.st.ShedTickets++
	}
	// 4. Still over: drop unsent records entirely in the same order, a
	// loss the station sees as a seq gap.
	if over() {
		drop := map[int]bool{}
		n, bytes := len(g.mem), g.memBytes
		for _, i := range g.shedOrderLocked() {
			if n <= maxRecs && bytes <= maxBytes {
				break
			}
			r := g.mem[i]
			g.log.Error("OUTBOX MEMORY FULL: an unsent ticket event is LOST (the storage fault outlasted the memory bound); its seq stays a gap",
				"seq", r.Seq, "event_id", r.EventID, "ticket", r.TicketID, "hazard", r.Hazard, "state", r.State)
			drop[i] = true
			delete(g.memMarks, r.Seq)
			n--
			bytes -= recBytes(r)
			g.st.Lost++
		}
		kept := g.mem[:0]
		for i, r := range g.mem {
			if !drop[i] {
				kept = append(kept, r)
			}
		}
		clear(g.mem[len(kept):])
		g.mem, g.memBytes = kept, bytes
	}
	if len(g.mem) > g.opts.MaxRecords || g.memBytes > g.opts.MaxBytes {
		g.log.Error("outbox memory queue over its bound with open level-1 events only; they are kept", "records", len(g.mem), "bytes", g.memBytes)
	}
	if g.st != before {
		g.log.Warn("OUTBOX MEMORY FULL: events kept during the storage fault were shed (DESIGN §6 order)",
			"telemetry", g.st.ShedTelemetry-before.ShedTelemetry, "delivered", g.st.ShedDelivered-before.ShedDelivered,
			"tombstoned", g.st.ShedTickets-before.ShedTickets, "lost", g.st.Lost-before.Lost)
	}
}

// addLocked appends r to the memory queue.
func (g *Guard) addLocked(r Record) {
	g.mem = append(g.mem, r)
	g.memBytes += recBytes(r)
	if r.IsTicket() && r.TicketID != "" && r.State != "test" && r.State != "dropped" {
		g.cleared[r.TicketID] = !IsOpenState(r.State)
	}
	if len(g.cleared) > 2*g.opts.MaxRecords { // shed tickets left entries behind
		keep := map[string]bool{}
		for _, m := range g.mem {
			if v, ok := g.cleared[m.TicketID]; ok {
				keep[m.TicketID] = v
			}
		}
		g.cleared = keep
	}
}

func (g *Guard) dropLocked(i int) {
	g.memBytes -= recBytes(g.mem[i])
	delete(g.memMarks, g.mem[i].Seq)
	g.mem = slices.Delete(g.mem, i, i+1)
}

// shedOrderLocked lists the indexes of the unsent ticket records that may
// be shed, in shedding order: cleared episodes, then by level (4 first),
// oldest first — the order of the store's eviction (compareEviction,
// [EvictionOrder]).
func (g *Guard) shedOrderLocked() []int {
	cleared := g.cleared
	var idx []int
	for i, r := range g.mem {
		if r.IsTicket() && r.SentAt.IsZero() && !protected(r) {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return compareEviction(g.mem[a], g.mem[b], cleared)
	})
	return idx
}

// protected: an open or escalated level-1 event (priority 0: fire first) is
// never shed.
func protected(r Record) bool {
	return r.Priority == PriorityLevel1 && IsOpenState(r.State)
}

func recBytes(r Record) int64 { return int64(len(r.Payload)) + memOverhead }

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
