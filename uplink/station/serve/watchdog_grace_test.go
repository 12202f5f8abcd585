package serve_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/station/serve"
	"github.com/fenghuo-iot/fenghuo/uplink/station/store"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// TestWatchdogGraceKeepsOthersOrder: an instance up all along raises
// 网关失联 for a silent gateway; a second instance on the same database,
// just started and so still in its grace, neither clears it nor raises a
// second one; once a status arrives, the order clears.
func TestWatchdogGraceKeepsOthersOrder(t *testing.T) {
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	t0 := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	ingestStatus(t, st, t0)
	old := serve.Watchdog{Heartbeat: 90 * time.Second, GapAlarm: time.Hour, Since: t0.Add(-time.Hour)}
	fresh := old
	fresh.Since = t0.Add(2 * time.Minute) // restarted
	if err := old.Check(ctx, st, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := fresh.Check(ctx, st, t0.Add(2*time.Minute+time.Duration(i)*5*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	os, err := st.OpenOrders(ctx)
	if err != nil || len(os) != 1 || os[0].Origin != store.OriginLost || os[0].Cleared {
		t.Fatalf("orders %+v (%v): want the one 网关失联 order, not cleared", os, err)
	}
	ingestStatus(t, st, t0.Add(150*time.Second))
	if err := fresh.Check(ctx, st, t0.Add(151*time.Second)); err != nil {
		t.Fatal(err)
	}
	if os, err := st.OpenOrders(ctx); err != nil || len(os) != 0 {
		t.Fatalf("orders %+v (%v): want none once a status arrived", os, err)
	}
}

func ingestStatus(t *testing.T, st store.Store, rx time.Time) {
	t.Helper()
	msg := store.Message{Kind: store.KindStatus, Topic: topics.Status(), Township: township, Gateway: gwID, Rx: rx,
		Payload: status(gwID, "online", 0)}
	s, err := ticket.ParseStatus(msg.Payload)
	if err != nil {
		t.Fatal(err)
	}
	msg.Status = &s
	if _, err := st.Ingest(context.Background(), []store.Message{msg}); err != nil {
		t.Fatal(err)
	}
}
