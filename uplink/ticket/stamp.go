package ticket

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
)

// Stamp fills the publish-time fields of a marshalled ticket: seq (assigned
// by the outbox), published_at and buffered. published_at is written at the
// UTC offset of occurred_at, so both times of one ticket read alike.
//
// A payload as [Ticket.Marshal] wrote it (seq 0, no published_at) is
// stamped by splicing the three fields into the bytes, without decoding the
// whole ticket: the drain of a backlog stamps every record.
func Stamp(payload []byte, seq uint64, publishedAt time.Time, buffered bool) ([]byte, error) {
	if out, ok := stampFast(payload, seq, publishedAt, buffered); ok {
		return out, nil
	}
	return stampDecoded(payload, seq, publishedAt, buffered)
}

// stampDecoded is Stamp by decoding and encoding the whole ticket.
func stampDecoded(payload []byte, seq uint64, publishedAt time.Time, buffered bool) ([]byte, error) {
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

// Byte patterns of an unstamped ticket as Marshal writes it. The fields
// before seq (schema, event_id, ticket_id) and between seq and occurred_at
// hold no object with these keys except label {zh, en}, and a JSON string
// cannot contain an unescaped quote, so the first match of each is the
// top-level field.
var (
	unstampedPrefix = []byte(`{"schema":"` + Schema + `",`)
	unstampedSeq    = []byte(`,"seq":0,`)
	occurredKey     = []byte(`,"occurred_at":"`)
	unstampedTail   = []byte(`","buffered":false,`)
)

// stampFast stamps a payload in the exact shape Marshal writes for an
// unstamped ticket; ok is false for anything else (Stamp then decodes it).
func stampFast(payload []byte, seq uint64, publishedAt time.Time, buffered bool) (out []byte, ok bool) {
	if !bytes.HasPrefix(payload, unstampedPrefix) {
		return nil, false
	}
	i := bytes.Index(payload, unstampedSeq)
	if i < 0 {
		return nil, false
	}
	j := bytes.Index(payload[i:], occurredKey)
	if j < 0 {
		return nil, false
	}
	j += i + len(occurredKey) // start of the occurred_at value
	k := bytes.IndexByte(payload[j:], '"')
	if k < 0 || !bytes.HasPrefix(payload[j+k:], unstampedTail) {
		return nil, false
	}
	occurred := payload[j : j+k]
	if occ, err := time.Parse(time.RFC3339Nano, string(occurred)); err == nil {
		publishedAt = publishedAt.In(occ.Location())
	}
	out = make([]byte, 0, len(payload)+64)
	out = append(out, payload[:i]...)
	out = append(out, `,"seq":`...)
	out = strconv.AppendUint(out, seq, 10)
	out = append(out, ',')
	out = append(out, payload[i+len(unstampedSeq):j+k]...)
	out = append(out, `","published_at":"`...)
	out = append(out, FormatTime(publishedAt)...)
	out = append(out, `","buffered":`...)
	out = strconv.AppendBool(out, buffered)
	out = append(out, ',')
	out = append(out, payload[j+k+len(unstampedTail):]...)
	return out, true
}

// Tombstone is the ticket published in place of a dropped event (DESIGN §6):
// same seq, event_id, ticket_id, hazard, level and device id, state
// "dropped", no evidence. It keeps the coding of the event it replaces
// (gbt45839_status, notice_type_zh, grade_zh): a dropped test stays test
// information, a dropped clear a clear. orig must be a parsed ticket.
func Tombstone(orig Ticket) Ticket {
	t := orig
	t.State = StateDropped
	t.Evidence = nil
	t.SuggestionZh = ""
	t.TicketDefaults = nil
	return t
}

// notDurableField is the optional ticket field of an event published
// before the gateway could store it (a storage fault, issue 15).
var notDurableField = []byte(`,"durable":false}`)

// MarkNotDurable adds "durable": false to a stamped ticket: the gateway
// published it from memory while its outbox refused writes, so it may be
// lost if the gateway is killed before the store accepts writes again
// (docs/tickets.md). A payload that is not a JSON object is an error.
func MarkNotDurable(stamped []byte) ([]byte, error) {
	p := bytes.TrimRight(stamped, " \t\r\n")
	if len(p) < 2 || p[0] != '{' || p[len(p)-1] != '}' {
		return nil, fmt.Errorf("ticket: mark not durable: not a JSON object")
	}
	if bytes.Contains(p, notDurableField[:len(notDurableField)-1]) {
		return stamped, nil
	}
	out := make([]byte, 0, len(p)+len(notDurableField))
	out = append(out, p[:len(p)-1]...)
	if len(bytes.TrimSpace(p[1:len(p)-1])) == 0 {
		return append(out, notDurableField[1:]...), nil // {} → {"durable":false}
	}
	return append(out, notDurableField...), nil
}
