package ticket

import (
	"bytes"
	"testing"
	"time"
)

// TestStampFastMatchesDecoded: splicing the publish-time fields gives the
// same bytes as decoding and re-encoding the ticket, also when strings and
// snapshot keys look like the spliced fields.
func TestStampFastMatchesDecoded(t *testing.T) {
	v, th := 0.42, 0.3
	tricky := `,"seq":0,"occurred_at":"x","buffered":false, 引号 \ "quoted"`
	base := Ticket{Schema: Schema, EventID: "gw-1/ev-9", TicketID: "gw-1/smoke-3/R1/20261129T001502", State: StateOpen,
		Hazard: "smoke_fire_alarm", Label: Label{Zh: "烟感火警" + tricky, En: "Smoke fire alarm"}, Category: "smoke",
		Kind: KindAlarm, Level: 1, Rule: "R1", OccurrenceCount: 1, OccurredAt: "2026-11-29T08:15:02.123+08:00",
		Gateway: Gateway{ID: "gw-1", Site: Site{Name: "云村文化礼堂" + tricky, TownshipCode: "330502103"}},
		Device:  Device{ID: "smoke-3", Name: tricky, Location: "一楼厨房"},
		Evidence: &Evidence{Point: "seq", Value: &v, Threshold: &th,
			Snapshot: map[string]*float64{"seq": &v, "buffered": &th, "occurred_at": nil}}}
	utc := base
	utc.OccurredAt = "2026-11-29T00:15:02Z"
	noEvidence := base
	noEvidence.Evidence = nil
	at := time.Date(2026, 11, 29, 0, 15, 3, 456e6, time.UTC)
	for name, tk := range map[string]Ticket{"cst": base, "utc": utc, "no_evidence": noEvidence} {
		p, err := tk.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		for _, buffered := range []bool{false, true} {
			fast, ok := stampFast(p, 10452, at, buffered)
			if !ok {
				t.Fatalf("%s: the fast path refused a payload written by Marshal:\n%s", name, p)
			}
			slow, err := stampDecoded(p, 10452, at, buffered)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fast, slow) {
				t.Fatalf("%s buffered=%v: fast stamp differs\nfast %s\nslow %s", name, buffered, fast, slow)
			}
			// A stamped payload is not in the fast path's shape: Stamp
			// decodes it and stamps it again.
			if _, ok := stampFast(fast, 1, at, buffered); ok {
				t.Fatalf("%s: the fast path accepted an already stamped payload", name)
			}
			again, err := Stamp(fast, 10453, at, buffered)
			if err != nil {
				t.Fatal(err)
			}
			if re, _ := Parse(again); re.Seq != 10453 {
				t.Fatalf("%s: restamp seq = %d", name, re.Seq)
			}
		}
	}
}

func BenchmarkStamp(b *testing.B) {
	v := 1.0
	tk := Ticket{Schema: Schema, EventID: "gw-1/ev-9", TicketID: "t", State: StateOpen, Hazard: "smoke_fire_alarm",
		Label: Label{Zh: "烟感火警", En: "Smoke fire alarm"}, Level: 1, OccurredAt: "2026-11-29T08:15:02.123+08:00",
		Evidence: &Evidence{Point: "alarm", Value: &v}}
	p, err := tk.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.Run("fast", func(b *testing.B) {
		for range b.N {
			if _, err := Stamp(p, 7, now, true); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decoded", func(b *testing.B) {
		for range b.N {
			if _, err := stampDecoded(p, 7, now, true); err != nil {
				b.Fatal(err)
			}
		}
	})
}
