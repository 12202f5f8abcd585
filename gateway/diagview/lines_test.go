package diagview

import (
	"bytes"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/testalarm"
	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
)

// The line renderers, exactly.
func TestLines(t *testing.T) {
	ta := testalarm.Result{TestAlarm: api.TestAlarm{TicketID: "gw-1/smoke-1/R1/test-20261129T080000.000", Seq: 2, Hazard: "smoke_fire_alarm",
		Level: 1, Rule: "R1", CommittedAt: now}, SentAt: now.Add(12 * time.Millisecond), AckedBy: "织里镇值班员", AckedAt: now.Add(1312 * time.Millisecond)}
	h := api.History{Records: []api.HistoryRecord{{CreatedAt: now}, {CreatedAt: now.Add(time.Hour)}}}
	for _, tc := range []struct {
		name   string
		render func(*bytes.Buffer)
		want   string
	}{
		{"control recorded", func(b *bytes.Buffer) {
			Control(b, api.Control{Device: "efd-1", Action: "self-test", Point: "command", Address: 16, Value: 2, Result: "ok", TicketID: "gw-1/efd-1/op/1", Seq: 9})
		}, "efd-1 self-test: wrote 2 to command (register 16): ok\nrecorded as operation gw-1/efd-1/op/1 (seq 9)\n"},
		{"control direct", func(b *bytes.Buffer) {
			Control(b, api.Control{Device: "efd-1", Action: "reset", Point: "command", Address: 16, Value: 1, Result: "ok"})
		}, "efd-1 reset: wrote 1 to command (register 16): ok\nrecorded in the outbox (sent when the daemon runs)\n"},
		{"probe", func(b *bytes.Buffer) {
			ProbeStart(b, mqttlink.ProbeResult{Broker: "tls://mqtt.example:8883", ClientID: "gw-1-probe", Username: "gw"})
			ProbeStep(b, mqttlink.ProbeStep{Step: "dns", OK: true, Ms: 0.01, Detail: "127.0.0.1"})
			ProbeStep(b, mqttlink.ProbeStep{Step: "tls", OK: true, Ms: -1, Detail: "skipped: tcp://"})
			ProbeStep(b, mqttlink.ProbeStep{Step: "publish", Ms: 12.4, Error: "no PUBACK"})
		}, "broker   tls://mqtt.example:8883 (client id gw-1-probe, user gw)\n" +
			"DNS      ok     0.1ms   127.0.0.1\n" +
			"TLS      —              skipped: tcp://\n" +
			"publish  FAILED 12ms    no PUBACK\n"},
		{"test alarm", func(b *bytes.Buffer) {
			for _, s := range []testalarm.Stage{testalarm.Committed, testalarm.Sent, testalarm.Acked, testalarm.NotAcked} {
				TestAlarm(b, s, ta, 30*time.Second, time.UTC)
			}
		}, "test ticket committed  2026-11-29 08:00:00 (seq 2): 烟感火警 Smoke fire alarm, level 1 一级, rule R1\n" +
			"ticket id              gw-1/smoke-1/R1/test-20261129T080000.000\n" +
			"broker acknowledged    2026-11-29 08:00:00 (PUBACK, 12ms after commit)\n" +
			"township acknowledged  2026-11-29 08:00:01 by 织里镇值班员 (1.3s after PUBACK)\n" +
			"township acknowledged  none within 30s (the township may not acknowledge test tickets)\n"},
		{"exported", func(b *bytes.Buffer) {
			Exported(b, "h.csv", "csv", true, h, time.UTC)
			Exported(b, "h.csv", "csv", false, api.History{}, time.UTC)
			Exported(b, "h.json", "json", true, h, time.UTC)
		}, "exported 2 records from 2026-11-29 08:00:00 to 2026-11-29 09:00:00 to h.csv (CSV, UTF-8 with BOM)\n" +
			"exported 0 records to h.csv (CSV, UTF-8)\n" +
			"exported 2 records from 2026-11-29 08:00:00 to 2026-11-29 09:00:00 to h.json (JSON)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			tc.render(&b)
			if b.String() != tc.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tc.want)
			}
		})
	}
}

// HistoryAs picks the table, CSV or JSON.
func TestHistoryAs(t *testing.T) {
	h := api.History{Records: []api.HistoryRecord{{Seq: 1, CreatedAt: now, State: "open", Level: 1, Device: "smoke-1"}}}
	for format, prefix := range map[string]string{"": "1 record from ", "csv": UTF8BOM + "seq,time,", "json": "{\n  \"now\""} {
		var b bytes.Buffer
		if err := HistoryAs(&b, format, true, h, time.UTC); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b.Bytes(), []byte(prefix)) {
			t.Errorf("format %q: %q, want it to start with %q", format, b.String(), prefix)
		}
	}
}
