package outbox

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// Eviction is one record an eviction pass removes.
type Eviction struct {
	Seq uint64
	// Tombstone: an unsent ticket record, replaced by its tombstone (state
	// dropped, same seq) that is still published. Otherwise the record is
	// deleted: telemetry (sent or not) or a delivered ticket record.
	Tombstone bool
}

// EvictionPlanner is implemented by outboxes that evict ([Maintainer]):
// the conformance suite (outboxtest.RunEviction) checks that what they
// would evict is what [PlanEviction] chooses on the same records.
type EvictionPlanner interface {
	// EvictionPlan returns, in order, what one eviction pass would remove
	// to free need bytes, without removing anything.
	EvictionPlan(ctx context.Context, need int64) ([]Eviction, error)
	// EvictionFreed estimates the bytes evicting r frees (deleted, or
	// replaced by a tombstone); it may be negative.
	EvictionFreed(r Record, tombstone bool) int64
}

// EvictionOrder returns the records eviction may remove, in the order of
// DESIGN §6: telemetry (sent or not), then delivered ticket records, then
// unsent ticket records (each replaced by a tombstone); within each class
// the records of cleared tickets first, then by level (4 before 1), then
// oldest (lowest seq) first. Never included: any record of an open
// level-1 or fire-class ticket (its latest record is open or escalate
// with level 1 or priority 0), the latest record of any open ticket, and
// unsent tombstones. A ticket's latest record is its highest-seq record
// that is not a test or a tombstone; a ticket is cleared when that record
// is not open or escalate.
//
// With several uplinks ([Cursors]) a record is delivered (SentAt set) only
// when every declared uplink has delivered it ([DeliveredByAll]): a record
// one uplink still lacks is an unsent record, replaced by a tombstone that
// only the uplinks lacking it publish.
func EvictionOrder(recs []Record) []Record {
	latest := map[string]Record{}
	for _, r := range recs {
		if !r.IsTicket() || r.State == "test" || r.State == "dropped" {
			continue
		}
		if l, ok := latest[r.TicketID]; !ok || r.Seq > l.Seq {
			latest[r.TicketID] = r
		}
	}
	openL1, cleared, openLatest := map[string]bool{}, map[string]bool{}, map[uint64]bool{}
	for id, l := range latest {
		switch {
		case !IsOpenState(l.State):
			cleared[id] = true
		default:
			openLatest[l.Seq] = true
			if l.Level == 1 || l.Priority == PriorityLevel1 {
				openL1[id] = true
			}
		}
	}
	var out []Record
	for _, r := range recs {
		if r.IsTicket() && (r.SentAt.IsZero() && r.State == "dropped" || openL1[r.TicketID] || openLatest[r.Seq]) {
			continue
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Record) int { return compareEviction(a, b, cleared) })
	return out
}

// compareEviction is the order of DESIGN §6 eviction, shared by the
// store's eviction ([EvictionOrder]) and the guard's memory queue:
// telemetry, then delivered ticket records, then unsent ones; within each,
// records of cleared tickets first, then level 4 before 1, then the lowest
// seq.
func compareEviction(a, b Record, cleared map[string]bool) int {
	class := func(r Record) int {
		switch {
		case !r.IsTicket():
			return 0
		case !r.SentAt.IsZero():
			return 1
		}
		return 2
	}
	notCleared := func(r Record) int {
		if r.IsTicket() && cleared[r.TicketID] {
			return 0
		}
		return 1
	}
	return cmp.Or(cmp.Compare(class(a), class(b)), cmp.Compare(notCleared(a), notCleared(b)),
		cmp.Compare(b.Level, a.Level), cmp.Compare(a.Seq, b.Seq))
}

// PlanEviction chooses, in [EvictionOrder], the records to remove until
// the bytes freed (freed's estimate, negative ones counting as 0) reach
// need. Telemetry and delivered ticket records are deleted; unsent ticket
// records become tombstones.
func PlanEviction(recs []Record, need int64, freed func(r Record, tombstone bool) int64) []Eviction {
	var out []Eviction
	var total int64
	for _, r := range EvictionOrder(recs) {
		if total >= need {
			break
		}
		e := Eviction{Seq: r.Seq, Tombstone: r.IsTicket() && r.SentAt.IsZero()}
		out = append(out, e)
		total += max(freed(r, e.Tombstone), 0)
	}
	return out
}

// DeliveredByAll returns a copy of recs as eviction sees them when the
// outbox has several uplinks ([Cursors]): SentAt is the latest of the
// uplinks' marks on the records every one of uplinks has delivered
// (marks[u][seq] is when uplink u delivered seq), and zero on the others.
func DeliveredByAll(recs []Record, uplinks []string, marks map[string]map[uint64]time.Time) []Record {
	out := slices.Clone(recs)
	for i := range out {
		var last time.Time
		for _, u := range uplinks {
			at, ok := marks[u][out[i].Seq]
			if !ok {
				last = time.Time{}
				break
			}
			if at.After(last) {
				last = at
			}
		}
		out[i].SentAt = last
	}
	return out
}
