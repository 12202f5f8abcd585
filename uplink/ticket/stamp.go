package ticket

import (
	"fmt"
	"time"
)

// Stamp fills the publish-time fields of a marshalled ticket: seq (assigned
// by the outbox), published_at and buffered. published_at is written at the
// UTC offset of occurred_at, so both times of one ticket read alike.
func Stamp(payload []byte, seq uint64, publishedAt time.Time, buffered bool) ([]byte, error) {
	t, err := Parse(payload)
	if err != nil {
		return nil, fmt.Errorf("ticket: stamp: %w", err)
	}
	if t.Schema != Schema {
		return nil, fmt.Errorf("ticket: stamp: schema %q, want %q", t.Schema, Schema)
	}
	if occ, err := time.Parse(time.RFC3339Nano, t.OccurredAt); err == nil {
		publishedAt = publishedAt.In(occ.Location())
	}
	t.Seq = seq
	t.PublishedAt = FormatTime(publishedAt)
	t.Buffered = buffered
	return t.Marshal()
}

// Tombstone is the ticket published in place of a dropped event (DESIGN §6):
// same seq, event_id, ticket_id, hazard, level and device id, state
// "dropped", no evidence. orig must be a parsed ticket.
func Tombstone(orig Ticket) Ticket {
	t := orig
	t.State = StateDropped
	t.Evidence = nil
	t.SuggestionZh = ""
	t.TicketDefaults = nil
	t.NoticeTypeZh = NoticeTypeZh(t.Kind, StateDropped)
	t.GBT45839Status = GBT45839Status(t.Kind, StateDropped)
	return t
}
