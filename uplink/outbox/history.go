package outbox

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// HistoryQuery selects stored ticket records (never telemetry) for `diag
// history`: the alarm and fault records a collection device keeps and
// exports (GB/T 45839 5.3.3).
type HistoryQuery struct {
	// Since and Until bound CreatedAt: Since <= CreatedAt < Until; a zero
	// bound is open.
	Since, Until time.Time
	// TicketID keeps only the records of one ticket; "" keeps all.
	TicketID string
	// Limit keeps only the newest Limit records (still returned oldest
	// first); <= 0 keeps all.
	Limit int
}

// Historian is implemented by outboxes that can list their stored ticket
// records, sent or not, in time order.
type Historian interface {
	// History returns the ticket records q selects, oldest first (by
	// CreatedAt, then Seq), with SentAt set for the delivered ones.
	History(ctx context.Context, q HistoryQuery) ([]Record, error)
}

// CompareHistory orders records as History returns them: CreatedAt, then
// Seq.
func CompareHistory(a, b Record) int {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.Seq, b.Seq)
}

// Matches reports whether the ticket record r is selected by q (Limit
// aside).
func (q HistoryQuery) Matches(r Record) bool {
	switch {
	case !r.IsTicket():
		return false
	case !q.Since.IsZero() && r.CreatedAt.Before(q.Since):
		return false
	case !q.Until.IsZero() && !r.CreatedAt.Before(q.Until):
		return false
	case q.TicketID != "" && r.TicketID != q.TicketID:
		return false
	}
	return true
}

// History implements [Historian].
func (m *Memory) History(ctx context.Context, q HistoryQuery) ([]Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	var out []Record
	for _, r := range m.recs {
		if q.Matches(r) {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, CompareHistory)
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[len(out)-q.Limit:]
	}
	return slices.Clip(out), nil
}

// HistoryCursor is where a page of [HistoryPager.HistoryPage] ends: the
// page after it holds records strictly older.
type HistoryCursor struct {
	CreatedAt time.Time
	Seq       uint64
}

// HistoryPager is implemented by outboxes that page their history newest
// first, without payloads (the SQLite store: keyset pagination in SQL), so
// a long history is read page by page and never whole.
type HistoryPager interface {
	// HistoryPage returns up to n ticket records q selects (q.Limit
	// ignored) that are older than before (the zero cursor: from the
	// newest), newest first, without their payloads.
	HistoryPage(ctx context.Context, q HistoryQuery, before HistoryCursor, n int) ([]Record, error)
}

// LatestAcker is implemented by outboxes that look up the newest ack of
// given tickets without loading every ack.
type LatestAcker interface {
	LatestAcks(ctx context.Context, ticketIDs ...string) (map[string]Ack, error)
}
