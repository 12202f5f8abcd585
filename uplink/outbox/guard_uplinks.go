package outbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// initUplinks takes the store's uplinks ([Cursors]; none: [DefaultUplink]).
func (g *Guard) initUplinks() error {
	c, ok := g.store.(Cursors)
	if !ok {
		g.uplinks = []string{DefaultUplink}
		return nil
	}
	g.uplinks = c.Uplinks()
	if len(g.uplinks) < 2 {
		return nil // one cursor: the store's own methods are its view
	}
	g.views = map[string]Outbox{}
	g.memMarks = map[uint64]map[string]time.Time{}
	g.unmarkedBy = map[string]map[uint64]time.Time{}
	for _, u := range g.uplinks {
		v, err := c.Uplink(u)
		if err != nil {
			return fmt.Errorf("outbox guard: %w", err)
		}
		g.views[u] = v
		g.unmarkedBy[u] = map[uint64]time.Time{}
	}
	return nil
}

// Uplinks implements [Cursors]: the store's uplinks.
func (g *Guard) Uplinks() []string { return slices.Clone(g.uplinks) }

// Uplink implements [Cursors]. With one uplink its view is the guard
// itself. With several, a memory record is delivered for an uplink in
// memory and restored into the store unsent, then marked for each uplink
// that had it (a mark the store refuses is remembered and retried, as for
// one uplink). A record spilled at a stop ([Guard.Unstored]) before every
// uplink delivered it is spilled unsent: after the restart each uplink
// publishes it again (at-least-once).
func (g *Guard) Uplink(name string) (Outbox, error) {
	if !slices.Contains(g.uplinks, name) {
		return nil, fmt.Errorf("outbox guard: uplink %q is not declared (declared: %q)", name, g.uplinks)
	}
	if g.views == nil {
		return g, nil
	}
	return guardView{g, name}, nil
}

// moveMarksLocked (mu held) hands the per-uplink marks of a memory record
// just stored to the store's cursors (retried by restoreLocked).
func (g *Guard) moveMarksLocked(seq uint64) {
	for u, at := range g.memMarks[seq] {
		g.unmarkedBy[u][seq] = at
	}
	delete(g.memMarks, seq)
}

func (g *Guard) unmarkedByLen() int {
	n := 0
	for _, m := range g.unmarkedBy {
		n += len(m)
	}
	return n
}

// retryUplinkMarks marks in the store each uplink's deliveries it refused.
func (g *Guard) retryUplinkMarks(ctx context.Context) error {
	for _, u := range g.uplinks {
		g.mu.Lock()
		marks := make(map[time.Time][]uint64)
		for seq, at := range g.unmarkedBy[u] {
			marks[at] = append(marks[at], seq)
		}
		g.mu.Unlock()
		for at, seqs := range marks {
			if err := g.views[u].MarkSent(ctx, at, seqs...); err != nil {
				return fmt.Errorf("uplink %s: %w", u, err)
			}
			g.mu.Lock()
			for _, s := range seqs {
				delete(g.unmarkedBy[u], s)
			}
			g.mu.Unlock()
		}
	}
	return nil
}

// guardView is one uplink's view of a [Guard] with several uplinks.
type guardView struct {
	g    *Guard
	name string
}

func (v guardView) Append(ctx context.Context, recs ...Record) ([]Record, error) {
	return v.g.Append(ctx, recs...)
}

// unsentLocked (mu held) reports whether the uplink still lacks a memory
// record.
func (v guardView) unsentLocked(r Record) bool {
	_, done := v.g.memMarks[r.Seq][v.name]
	return r.SentAt.IsZero() && !done
}

// Pending is [Guard.Pending] for this uplink: its memory records merged
// with its store cursor, without the records it delivered that the store
// has not marked yet.
func (v guardView) Pending(ctx context.Context, max int) ([]Record, error) {
	g := v.g
	return g.mergePending(ctx, max, v.unsentLocked,
		func() []map[uint64]time.Time { return []map[uint64]time.Time{g.unmarked, g.unmarkedBy[v.name]} },
		g.views[v.name].Pending)
}

// MarkSent marks this uplink's deliveries: in memory for memory records
// (delivered by all once every uplink has it), else in the store's cursor;
// a mark the store refuses is remembered and retried.
func (v guardView) MarkSent(ctx context.Context, at time.Time, seqs ...uint64) error {
	g := v.g
	var toStore []uint64
	g.mu.Lock()
	for _, s := range seqs {
		i := slices.IndexFunc(g.mem, func(r Record) bool { return r.Seq == s })
		switch {
		case i < 0:
			toStore = append(toStore, s)
		case v.unsentLocked(g.mem[i]):
			if g.memMarks[s] == nil {
				g.memMarks[s] = map[string]time.Time{}
			}
			g.memMarks[s][v.name] = at
			if len(g.memMarks[s]) == len(g.uplinks) {
				g.mem[i].SentAt = at
				delete(g.memMarks, s)
			}
		}
	}
	g.mu.Unlock()
	if len(toStore) == 0 {
		return nil
	}
	err := g.views[v.name].MarkSent(ctx, at, toStore...)
	if err == nil || errors.Is(err, ErrClosed) {
		return err
	}
	g.refused(fmt.Errorf("mark sent (uplink %s): %w", v.name, err))
	g.mu.Lock()
	defer g.mu.Unlock()
	if n := len(g.unmarked) + g.unmarkedByLen(); n+len(toStore) > g.opts.MaxDelivered {
		return fmt.Errorf("outbox guard: %d delivered records wait to be marked (bound %d): %w", n, g.opts.MaxDelivered, err)
	}
	for _, s := range toStore {
		g.unmarkedBy[v.name][s] = at
	}
	return nil
}

// Stats is this uplink's: its store cursor's, with its memory records
// counted and its refused marks not counted as unsent.
func (v guardView) Stats(ctx context.Context) (Stats, error) {
	g := v.g
	s, err := g.views[v.name].Stats(ctx)
	if err != nil {
		return s, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	refused := len(g.unmarkedBy[v.name])
	for seq := range g.unmarked {
		if _, dup := g.unmarkedBy[v.name][seq]; !dup {
			refused++
		}
	}
	s.Depth = max(s.Depth-refused, 0)
	s.LastSeq = max(s.LastSeq, g.lastSeq)
	for _, r := range g.mem {
		if !v.unsentLocked(r) {
			continue
		}
		s.countUnsent(r)
	}
	s.DroppedTickets += g.st.ShedTickets + g.st.Lost
	s.DroppedTelemetry += g.st.ShedTelemetry
	return s, nil
}
