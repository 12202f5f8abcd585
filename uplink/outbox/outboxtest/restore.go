package outboxtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// testRestore: an outbox.Restorer stores records with their own seq,
// CreatedAt and SentAt, leaves a seq it already has alone (so a second
// Restore changes nothing), and moves its counters past the largest seq
// so the next Append does not reuse one.
func testRestore(t *testing.T, o outbox.Outbox) {
	rs, ok := o.(outbox.Restorer)
	if !ok {
		t.Skip("not an outbox.Restorer")
	}
	ctx := context.Background()
	first := MustAppend(t, o, Ticket(1, 1), Ticket(2, 1)) // seqs 1, 2
	at := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	kept := Ticket(20, 1) // claims seq 2, already stored: must be ignored
	kept.Seq, kept.CreatedAt = 2, at
	pending := Ticket(3, 1)
	pending.Seq, pending.CreatedAt = 4, at
	sent := Ticket(4, 2)
	sent.Seq, sent.CreatedAt, sent.SentAt = 3, at, at.Add(time.Second)
	tel := Telemetry(1)
	tel.Seq, tel.CreatedAt = outbox.TelemetrySeqBase+7, at
	recs := []outbox.Record{kept, pending, sent, tel}
	for range 2 { // the second call must change nothing
		if err := rs.Restore(ctx, recs...); err != nil {
			t.Fatalf("Restore: %v", err)
		}
		var got []string
		for _, r := range MustPending(t, o) {
			got = append(got, fmt.Sprintf("%d/%s", r.Seq, r.EventID))
		}
		want := fmt.Sprintf("[1/ev-1 2/ev-2 4/ev-3 %d/]", outbox.TelemetrySeqBase+7)
		if fmt.Sprint(got) != want {
			t.Fatalf("pending after Restore = %v\nwant %s (seq 2 kept as stored, seq 3 restored as sent)", got, want)
		}
		st, err := o.Stats(ctx)
		if err != nil || st.LastSeq != 4 || st.Sent != 1 || st.Depth != 4 {
			t.Fatalf("Stats after Restore = %+v, %v; want LastSeq 4, Sent 1, Depth 4", st, err)
		}
	}
	p := MustPending(t, o)
	if !p[2].CreatedAt.Equal(at) || string(p[1].Payload) != string(first[1].Payload) {
		t.Fatalf("restored CreatedAt %v (want %v), seq 2 payload %s (want the stored %s)", p[2].CreatedAt, at, p[1].Payload, first[1].Payload)
	}
	next := MustAppend(t, o, Ticket(5, 2), Telemetry(2))
	if next[0].Seq != 5 || next[1].Seq != outbox.TelemetrySeqBase+8 {
		t.Fatalf("Append after Restore got seqs %d and base+%d; want 5 and base+8", next[0].Seq, next[1].Seq-outbox.TelemetrySeqBase)
	}
	noSeq := Ticket(6, 1)
	noSeq.CreatedAt = at
	wrong := Telemetry(3)
	wrong.Seq, wrong.CreatedAt = 9, at
	for _, bad := range []outbox.Record{noSeq, wrong} {
		if err := rs.Restore(ctx, Ticket(7, 1), bad); err == nil {
			t.Fatalf("Restore accepted seq %d for priority %d", bad.Seq, bad.Priority)
		}
	}
	if st, _ := o.Stats(ctx); st.Depth != 6 {
		t.Fatalf("a refused Restore must store nothing: depth %d, want 6", st.Depth)
	}
}
