package station

import "fmt"

// span is an inclusive range of missing seqs.
type span struct{ from, to uint64 }

func (s span) String() string {
	if s.from == s.to {
		return fmt.Sprint(s.from)
	}
	return fmt.Sprintf("%d..%d", s.from, s.to)
}

// seqTracker follows one gateway's seqs. Its first seq is the baseline:
// seqs below it were before the station started watching and make no gap.
// A seq above the highest seen opens a gap; a missing seq that arrives
// later fills it (tickets may overtake: level-1 tickets go first).
type seqTracker struct {
	started bool
	lo, hi  uint64
	missing []span // seqs not yet seen: sorted, disjoint
	gaps    []gap  // the gaps as they opened, until filled
}

// gap is a gap as it opened and how many of its seqs are still missing.
type gap struct {
	span
	left uint64
}

// gapEvent is what one seq changed.
type gapEvent struct {
	opened *span // a new gap below this seq
	filled *span // a gap closed completely by this seq
	late   bool  // below the baseline or not missing (a replay)
}

func (t *seqTracker) add(seq uint64) gapEvent {
	switch {
	case !t.started:
		t.started, t.lo, t.hi = true, seq, seq
		return gapEvent{}
	case seq == t.hi+1:
		t.hi = seq
		return gapEvent{}
	case seq > t.hi:
		g := span{t.hi + 1, seq - 1}
		t.missing = append(t.missing, g)
		t.gaps = append(t.gaps, gap{g, g.to - g.from + 1})
		t.hi = seq
		return gapEvent{opened: &g}
	case seq < t.lo:
		t.lo = seq
		return gapEvent{late: true}
	}
	return t.fill(seq)
}

// fill removes seq from the missing seqs and reports the gap it completes.
func (t *seqTracker) fill(seq uint64) gapEvent {
	if !t.unmiss(seq) {
		return gapEvent{late: true}
	}
	for i := range t.gaps {
		g := &t.gaps[i]
		if seq < g.from || seq > g.to {
			continue
		}
		if g.left--; g.left == 0 {
			done := g.span
			t.gaps = append(t.gaps[:i], t.gaps[i+1:]...)
			return gapEvent{filled: &done}
		}
		break
	}
	return gapEvent{}
}

// unmiss removes seq from the missing spans; false if it was not missing.
func (t *seqTracker) unmiss(seq uint64) bool {
	for i, g := range t.missing {
		if seq < g.from || seq > g.to {
			continue
		}
		switch {
		case g.from == g.to:
			t.missing = append(t.missing[:i], t.missing[i+1:]...)
		case seq == g.from:
			t.missing[i].from++
		case seq == g.to:
			t.missing[i].to--
		default:
			rest := span{seq + 1, g.to}
			t.missing[i].to = seq - 1
			t.missing = append(t.missing[:i+1], append([]span{rest}, t.missing[i+1:]...)...)
		}
		return true
	}
	return false
}

// open lists the seqs still missing.
func (t *seqTracker) open() []span { return append([]span(nil), t.missing...) }
