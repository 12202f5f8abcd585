package diagview

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/testalarm"
	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
)

// The strings of issue 15: an ack's `by` that clears the crew's screen
// and prints a fake "ALL CLEAR", and one that is a formula in Excel.
const (
	fakeAllClear = "\x1b[2J\x1b[H\x1b[32mALL CLEAR\x1b[0m"
	hyperlink    = `=HYPERLINK("http://x","click")`
)

func assertPlain(t *testing.T, what, text string) {
	t.Helper()
	for _, r := range text {
		if (r < 0x20 && r != '\n') || (r >= 0x7f && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			t.Fatalf("%s carries %U to the terminal:\n%q", what, r, text)
		}
	}
}

var hostileAt = time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)

func TestRenderersShowHostileTextPlain(t *testing.T) {
	var b bytes.Buffer
	Alarms(&b, api.Alarms{Now: hostileAt, Alarms: []api.Alarm{{
		TicketID: "t-1", Device: "smoke-1", DeviceName: "烟感\u202egnp\u202c", Rule: "R1", Hazard: "smoke_fire_alarm",
		Level: 1, Since: hostileAt, AckedBy: fakeAllClear, AckedAt: hostileAt,
	}}}, time.UTC)
	History(&b, api.History{Now: hostileAt, Records: []api.HistoryRecord{{
		Seq: 1, CreatedAt: hostileAt, State: "open", Level: 1, Hazard: "smoke_fire_alarm", Device: "smoke-1",
		DeviceName: "\u009b2J名", TicketID: "t-1", AckedBy: fakeAllClear + "\r\n" + hyperlink, AckedAt: hostileAt,
	}}}, time.UTC)
	Devices(&b, api.Devices{Now: hostileAt, Devices: []api.Device{{
		ID: "smoke-1", Name: "名\x1b]0;title\x07", Location: "\x7f一楼", Seen: true, LastPoll: hostileAt, LastOK: hostileAt,
		LastError: "byte count 0 in \x1b[31m01 03", LastErrorAt: hostileAt,
		Values: []api.Value{{Point: "temp\x1b[1m", Value: 1, Unit: "°C\u2066"}},
	}}}, time.UTC)
	out := b.String()
	assertPlain(t, "diag alarms / history / devices", out)
	for _, want := range []string{"ALL CLEAR at 2026-11-29 08:00:00", "ALL CLEAR  " + hyperlink + " at", "烟感gnp", "名 (一楼)", "byte count 0 in 01 03"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q (the text stays, the controls go):\n%s", want, out)
		}
	}
}

func TestHistoryCSVEscapesFormulas(t *testing.T) {
	h := api.History{Records: []api.HistoryRecord{{
		Seq: 1, CreatedAt: hostileAt, State: "open", Level: 1, Hazard: "smoke_fire_alarm", Device: "-smoke",
		DeviceName: "@SUM(A1)", TicketID: "+t", AckedBy: hyperlink, AckedAt: hostileAt, LabelZh: "烟感火警", LabelEn: fakeAllClear,
	}}}
	var b bytes.Buffer
	if err := HistoryCSV(&b, h, false, time.UTC); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("CSV: %d rows, %v", len(recs), err)
	}
	r := recs[1]
	for i, want := range map[int]string{
		15: `'=HYPERLINK("http://x","click")`, 10: "'-smoke", 11: "'@SUM(A1)", 12: "'+t", 7: "ALL CLEAR", 6: "烟感火警", 0: "1", 2: "1",
	} {
		if r[i] != want {
			t.Errorf("CSV column %s = %q, want %q", HistoryCSVHeader[i], r[i], want)
		}
	}
}

func TestPrintJSONEscapesControls(t *testing.T) {
	var b bytes.Buffer
	by := "\u009b2J\u202e值班\x7f"
	if err := JSON(&b, api.Alarm{AckedBy: by}); err != nil {
		t.Fatal(err)
	}
	assertPlain(t, "--json", strings.ReplaceAll(b.String(), "\n", ""))
	var a api.Alarm
	if err := json.Unmarshal(b.Bytes(), &a); err != nil || a.AckedBy != by {
		t.Errorf("--json %q reads back as %q, %v", b.String(), a.AckedBy, err)
	}
}

// The one-line renderers: a device's error, a broker's words, a
// township's `by` and a file name reach the terminal without controls.
func TestLinesShowHostileTextPlain(t *testing.T) {
	var b bytes.Buffer
	Control(&b, api.Control{Device: "efd-1\x1b[2J", Action: "reset", Point: "command", Address: 16, Value: 1, Result: "failed",
		Error: "timeout " + fakeAllClear, RecordError: "disk \u009b2Jfull"})
	ProbeStart(&b, mqttlink.ProbeResult{Broker: "tcp://h\x1b]0;x\x07:1883", ClientID: "gw\x1b[1m", Username: "u\u202e"})
	ProbeStep(&b, mqttlink.ProbeStep{Step: "mqtt", Ms: 3, Error: "CONNACK " + fakeAllClear})
	TestAlarm(&b, testalarm.Committed, testalarm.Result{TestAlarm: api.TestAlarm{TicketID: "t\x1b[K", Hazard: "x\x07", Rule: "R1\r", Seq: 1}}, time.Second, time.UTC)
	TestAlarm(&b, testalarm.Acked, testalarm.Result{AckedBy: fakeAllClear, AckedAt: hostileAt, SentAt: hostileAt}, time.Second, time.UTC)
	Exported(&b, "/tmp/\x1b[31mh.csv", "csv", true, api.History{}, time.UTC)
	NewTrace(&b, false, time.UTC).Frame(api.TraceFrame{At: hostileAt, Dir: "rx\x1b[2J", Hex: "01 03", Error: "crc " + fakeAllClear})
	out := b.String()
	assertPlain(t, "control / probe / test-alarm / export / trace", out)
	for _, want := range []string{"efd-1 reset: wrote 1 to command (register 16): failed (timeout ALL CLEAR)", "NOT recorded in the outbox: disk full",
		"FAILED", "CONNACK ALL CLEAR", "township acknowledged  2026-11-29 08:00:00 by ALL CLEAR", "crc ALL CLEAR"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
