package sched

import "time"

// Shedding under overload (issue 13, Build 3). When a line is asked for
// more than it can carry, every turn starts late. A late turn reads only
// the device's first group — its status and alarm words — and owes the
// slower groups it skipped; the next turn that starts on time reads them.
// A group is never owed for longer than its own period (every[g] turns):
// then it is read even on a late turn, so under a lasting overload a slow
// group is still read at least at half its rate and the lateness is
// spread over the slow groups rather than landing on the status words.
// drivers/linebudget computes the same policy ahead of time for
// `config check`.

// lateAfter is how far past its due time a turn must start to count as
// late: a quarter of the device's interval.
func lateAfter(interval time.Duration) time.Duration { return interval / 4 }

// shed clears the slow groups of due on a late turn, within their bound,
// and keeps account of what is owed. due comes from groupsDue.
func (s *devState) shed(every []int, late bool) {
	if len(s.owed) < len(s.due) {
		s.owed = make([]int, len(s.due))
	}
	for g := 1; g < len(s.due); g++ {
		if !s.due[g] {
			continue
		}
		if late && s.owed[g] < max(1, every[g]) {
			s.due[g] = false
			s.owed[g]++
			continue
		}
		s.owed[g] = 0
	}
}

// owes reports whether group g was skipped on a late turn and not read
// since.
func (s *devState) owes(g int) bool { return g < len(s.owed) && s.owed[g] > 0 }
