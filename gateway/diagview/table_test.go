package diagview

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
)

func TestDisplayWidth(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want int
	}{
		{"", 0},
		{"smoke-1", 7},
		{"一楼厨房烟感", 12},
		{"云村文化礼堂 hall", 17},
		{"°C", 2},      // ° is narrow (Latin-1)
		{"（全角）", 8},    // fullwidth parentheses
		{"ｍＡ", 4},      // fullwidth Latin
		{"e\u0301", 1}, // e + combining acute
		{"한국", 4},
		{"—", 1},
	} {
		if got := DisplayWidth(tc.s); got != tc.want {
			t.Errorf("DisplayWidth(%q) = %d, want %d", tc.s, got, tc.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		s    string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"abcdefghij", 5, "abcd…"},
		{"一楼厨房烟感", 7, "一楼厨…"}, // 6 columns + …
		{"一楼厨房烟感", 12, "一楼厨房烟感"},
	} {
		if got := truncate(tc.s, tc.max); got != tc.want || DisplayWidth(got) > tc.max {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.s, tc.max, got, tc.want)
		}
	}
}

// Every column starts at the same terminal column on every row, whatever
// mix of 汉字 and ASCII the cells hold.
func TestTableAlignsChinese(t *testing.T) {
	var tb table
	tb.add("ID", "NAME", "STATE")
	tb.add("smoke-1f-kitchen", "一楼厨房烟感", "online")
	tb.add("efd-1", "一楼总配电箱电气火灾探测器", "OFFLINE")
	tb.add("m", "meter main", "online")
	var b bytes.Buffer
	tb.write(&b)
	rows := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(rows) != 4 {
		t.Fatalf("%d rows:\n%s", len(rows), b.String())
	}
	// The display column where the third cell starts.
	start := func(row string, cell string) int {
		i := strings.Index(row, cell)
		if i < 0 {
			t.Fatalf("%q not in %q", cell, row)
		}
		return DisplayWidth(row[:i])
	}
	want := start(rows[0], "STATE")
	for i, cell := range []string{"online", "OFFLINE", "online"} {
		if got := start(rows[i+1], cell); got != want {
			t.Errorf("row %d: STATE column at %d, header at %d:\n%s", i+1, got, want, b.String())
		}
	}
	for _, r := range rows {
		if strings.HasSuffix(r, " ") {
			t.Errorf("trailing blanks in %q", r)
		}
	}
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 300 * time.Millisecond: "0.3s", 12 * time.Second: "12s",
		192 * time.Second: "3m12s", 2*time.Hour + 3*time.Minute: "2h03m", 76 * time.Hour: "3d04h",
	} {
		if got := Age(d); got != want {
			t.Errorf("age(%s) = %q, want %q", d, got, want)
		}
	}
}

// The tables, on fixed answers (golden files; -update rewrites them).
var (
	now   = time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	rate  = 0.995
	temp  = 22.5
	limit = 300.0
)

func TestRenderGolden(t *testing.T) {
	status := api.Status{
		Now: now, Version: "v0.3.0", GatewayID: "gw-330502103-yuncun-01", StartedAt: now.Add(-3*time.Hour - 5*time.Minute), UptimeS: 3*3600 + 300,
		Uplink:  api.UplinkStatus{Broker: "tls://mqtt.township.example:8883", Connected: false, LastPublishAt: now.Add(-90 * time.Second)},
		Buffer:  api.BufferStatus{Path: "/var/lib/fenghuo/outbox.db", Depth: 3, OldestUnsentAt: now.Add(-80 * time.Second), OldestUnsentAgeS: 80, LastSeq: 41, Sent: 38, DroppedTelemetry: 2},
		Devices: api.DevicesStatus{Online: 2, Total: 3},
	}
	devices := api.Devices{Now: now, Devices: []api.Device{
		{ID: "smoke-1f-kitchen", Name: "一楼厨房烟感", Bus: "rs485-1", Slave: 1, Profile: "smoke-detector", Location: "一楼厨房",
			Online: true, Seen: true, LastPoll: now.Add(-400 * time.Millisecond), LastOK: now.Add(-400 * time.Millisecond),
			PollsOK: 199, PollsFailed: 1, SuccessRate: &rate, LastLatencyMS: 42.3, LastError: "bus \"rs485-1\" slave 1 fc3 @0+7: i/o timeout", LastErrorAt: now.Add(-20 * time.Minute),
			Values: []api.Value{{Point: "status", Value: 0}, {Point: "temperature", Value: 22.5, Unit: "°C"}, {Point: "smoke_density", Value: 0.015, Unit: "dB/m"}, {Point: "battery", Value: 0, Unit: "%", Absent: true}}},
		{ID: "efd-1f-main", Name: "一楼总配电箱电气火灾探测器", Bus: "rs485-1", Slave: 7, Profile: "electrical-fire-1p",
			Online: false, Seen: true, LastPoll: now.Add(-2 * time.Second), PollsFailed: 12, SuccessRate: new(float64), LastError: "no answer"},
		{ID: "meter-main", Name: "总表", Bus: "lan", Slave: 8, Profile: "smart-meter-3p"},
	}}
	alarms := api.Alarms{Now: now, Alarms: []api.Alarm{
		{TicketID: "gw-330502103-yuncun-01/smoke-1f-kitchen/R1/20261129T075800.000", Device: "smoke-1f-kitchen", DeviceName: "一楼厨房烟感", Rule: "R1", Hazard: "smoke_fire_alarm", LabelZh: "烟感火警", Level: 1, Since: now.Add(-2 * time.Minute), AckedBy: "织里镇值班员", AckedAt: now.Add(-time.Minute)},
		{TicketID: "gw-330502103-yuncun-01/efd-1f-main/R21/20261129T075000.000", Device: "efd-1f-main", DeviceName: "一楼总配电箱电气火灾探测器", Rule: "R21", Hazard: "device_offline", LabelZh: "设备离线", Level: 2, Since: now.Add(-10 * time.Minute)},
	}}
	queue := api.Queue{Now: now, Depth: 3, Truncated: true, Items: []api.QueueItem{
		{Seq: 41, State: "open", Hazard: "smoke_fire_alarm", Device: "smoke-1f-kitchen", Level: 1, TicketID: "gw-330502103-yuncun-01/smoke-1f-kitchen/R1/20261129T075800.000", CreatedAt: now.Add(-2 * time.Minute), AgeS: 120},
		{Seq: 39, State: "clear", Hazard: "residual_current_alarm", Device: "efd-1f-main", Level: 2, TicketID: "gw-330502103-yuncun-01/efd-1f-main/R7/20261129T074000.000", CreatedAt: now.Add(-5 * time.Minute), AgeS: 300},
	}}
	rulesView := api.Rules{Now: now, Rules: []api.Rule{
		{Device: "smoke-1f-kitchen", Rule: "R1", Hazard: "smoke_fire_alarm", Phase: "firing", Since: now.Add(-2 * time.Minute), ElapsedS: 120, Point: "status", Value: new(float64), Level: 1, TicketID: "gw-1/smoke-1f-kitchen/R1/x"},
		{Device: "smoke-1f-kitchen", Rule: "R3", Hazard: "smoke_high_temperature", Phase: "inactive", Point: "temperature", Value: &temp, Threshold: &limit, Level: 2},
		{Device: "efd-1f-main", Rule: "R7", Hazard: "residual_current_alarm", Phase: "pending", Since: now.Add(-2 * time.Second), ElapsedS: 2, Samples: 2, Level: 2, Frozen: true},
	}}
	for _, tc := range []struct {
		name   string
		render func(*bytes.Buffer)
	}{
		{"status", func(b *bytes.Buffer) { Status(b, status, time.UTC) }},
		{"devices", func(b *bytes.Buffer) { Devices(b, devices, time.UTC) }},
		{"alarms", func(b *bytes.Buffer) { Alarms(b, alarms, time.UTC) }},
		{"alarms_none", func(b *bytes.Buffer) { Alarms(b, api.Alarms{Now: now}, time.UTC) }},
		{"queue", func(b *bytes.Buffer) { Queue(b, queue, time.UTC) }},
		{"queue_empty", func(b *bytes.Buffer) { Queue(b, api.Queue{Now: now}, time.UTC) }},
		{"rules", func(b *bytes.Buffer) { Rules(b, rulesView) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			tc.render(&b)
			golden(t, "diag_"+tc.name+".golden", b.String())
		})
	}
}
