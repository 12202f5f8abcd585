package diagview

import (
	"bytes"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
)

// The history table and CSV on fixed records (golden files).
func TestRenderHistoryGolden(t *testing.T) {
	tid := "gw-330502103-yuncun-01/smoke-1f-kitchen/R1/20261129T075800.000"
	h := api.History{Now: now, Records: []api.HistoryRecord{
		{Seq: 40, CreatedAt: now.Add(-2 * time.Hour), State: "test", Level: 1, Hazard: "smoke_fire_alarm", LabelZh: "烟感火警", LabelEn: "Smoke fire alarm", Kind: "alarm", Rule: "R1",
			Device: "smoke-1f-kitchen", DeviceName: "一楼厨房烟感", TicketID: "gw-330502103-yuncun-01/smoke-1f-kitchen/R1/test-20261129T060000.000", EventID: "ev-40", SentAt: now.Add(-2*time.Hour + 15*time.Millisecond)},
		{Seq: 41, CreatedAt: now.Add(-2 * time.Minute), State: "open", Level: 1, Hazard: "smoke_fire_alarm", LabelZh: "烟感火警", LabelEn: "Smoke fire alarm", Kind: "alarm", Rule: "R1",
			Device: "smoke-1f-kitchen", DeviceName: "一楼厨房烟感", TicketID: tid, EventID: "ev-41", SentAt: now.Add(-2*time.Minute + 20*time.Millisecond), AckedBy: "织里镇值班员", AckedAt: now.Add(-time.Minute)},
		{Seq: 42, CreatedAt: now.Add(-30 * time.Second), State: "open", Level: 3, Hazard: "device_offline", LabelZh: "设备离线", LabelEn: "Device offline", Kind: "fault", Rule: "R21",
			Device: "efd-1f-main", DeviceName: `总配电箱 "A", 1号`, TicketID: "gw-330502103-yuncun-01/efd-1f-main/R21/20261129T075930.000", EventID: "ev-42"},
	}}
	var b bytes.Buffer
	History(&b, h, time.UTC)
	golden(t, "diag_history.golden", b.String())
	b.Reset()
	History(&b, api.History{Now: now}, time.UTC)
	golden(t, "diag_history_none.golden", b.String())
	b.Reset()
	if err := HistoryCSV(&b, h, true, time.UTC); err != nil {
		t.Fatal(err)
	}
	golden(t, "diag_history_csv.golden", b.String())
}
