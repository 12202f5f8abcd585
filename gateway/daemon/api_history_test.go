package daemon

import (
	"fmt"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/localapi"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// TestHistoryPagedWithAcks: /v1/history over more records than one SQL
// page (localapi.HistoryPage) returns every record once, oldest first, each with
// the newest ack of its ticket; a limit keeps the newest.
func TestHistoryPagedWithAcks(t *testing.T) {
	d := newTestDaemon(t, "127.0.0.1:1")
	defer d.store.Close()
	ctx := t.Context()
	const n = 2*localapi.HistoryPage + 37
	at := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	recs := make([]outbox.Record, n)
	for i := range recs {
		recs[i] = outbox.Record{
			EventID: fmt.Sprintf("ev-%d", i), TicketID: fmt.Sprintf("gw/smoke-1f-kitchen/R1/t%d", i/3), State: "open",
			Hazard: "smoke_fire_alarm", Rule: "R1", Device: "smoke-1f-kitchen", Level: 1, Priority: outbox.PriorityLevel1,
			Payload: []byte(`{}`), CreatedAt: at.Add(time.Duration(i/7) * time.Second), // several per instant
		}
	}
	if _, err := d.store.Append(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	for k, by := range []string{"甲", "乙"} {
		for i := 0; i <= (n-1)/3; i += 5 {
			if err := d.store.Ack(ctx, fmt.Sprintf("gw/smoke-1f-kitchen/R1/t%d", i), by, at.Add(time.Duration(k)*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
	}
	h, err := d.views.History(ctx, api.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Records) != n {
		t.Fatalf("%d records, want %d", len(h.Records), n)
	}
	for i, r := range h.Records {
		if r.Seq != uint64(i+1) || r.DeviceName != "一楼厨房烟感" || r.LabelZh == "" {
			t.Fatalf("record %d: %+v; want seq %d oldest first, with device name and label", i, r, i+1)
		}
		acked := (i/3)%5 == 0
		if acked != (r.AckedBy == "乙") || (acked && !r.AckedAt.Equal(at.Add(time.Hour))) {
			t.Fatalf("record %d (ticket %s): acked by %q at %v; want the newest ack (乙) exactly on every fifth ticket", i, r.TicketID, r.AckedBy, r.AckedAt)
		}
	}
	h, err = d.views.History(ctx, api.HistoryQuery{Limit: 3})
	if err != nil || len(h.Records) != 3 || h.Records[0].Seq != n-2 || h.Records[2].Seq != n {
		t.Fatalf("limit 3: %d records (%v), want the newest three oldest first", len(h.Records), err)
	}
}

// TestAlarmsShowTheNewestAck: diag alarms shows the newest ack of each
// open ticket, looked up for the shown tickets only.
func TestAlarmsShowTheNewestAck(t *testing.T) {
	d := newTestDaemon(t, "127.0.0.1:1")
	defer d.store.Close()
	ctx := t.Context()
	since := time.Now().Add(-time.Minute)
	d.loop.Rules().Restore([]rules.OpenHazard{{Device: "smoke-1f-kitchen", Rule: "R1", TicketID: "ep1", Level: 1, Since: since}})
	tid := d.loop.TicketID("smoke-1f-kitchen", "ep1")
	if _, err := d.store.Append(ctx, outbox.Record{EventID: "e1", TicketID: tid, State: "open", Hazard: "smoke_fire_alarm", Rule: "R1",
		Device: "smoke-1f-kitchen", Level: 1, Priority: outbox.PriorityLevel1, Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	for i, by := range []string{"甲", "乙", "丙"} {
		if err := d.store.Ack(ctx, tid, by, at.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	a, err := d.views.Alarms(ctx)
	if err != nil || len(a.Alarms) != 1 {
		t.Fatalf("alarms %+v, %v", a, err)
	}
	if got := a.Alarms[0]; got.TicketID != tid || got.AckedBy != "丙" || !got.AckedAt.Equal(at.Add(2*time.Minute)) {
		t.Fatalf("alarm %+v; want ticket %s acked by 丙", got, tid)
	}
}
