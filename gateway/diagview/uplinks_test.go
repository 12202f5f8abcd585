package diagview

import (
	"bytes"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
)

// TestRenderTwoUplinksGolden: with uplink.gb26875, diag status has a row per
// uplink (its backlog, last delivery, the centre's clock offset, R25) and
// diag queue a line per uplink's backlog; a centre's text is sanitised.
func TestRenderTwoUplinksGolden(t *testing.T) {
	now := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	off := int64(-2500)
	uplinks := []api.UplinkState{
		{Name: "mqtt", Peer: "tls://mqtt.township.example:8883", Connected: true, LastDeliveryAt: now.Add(-5 * time.Second), Sent: 41},
		{Name: "gb26875", Peer: "10.20.30.40:9000\x1b[31m", Connected: false, Depth: 3, OldestUnsentAt: now.Add(-150 * time.Second),
			OldestUnsentAgeS: 150, LastDeliveryAt: now.Add(-160 * time.Second), TransmissionFault: true, ClockOffsetMS: &off, Sent: 38},
	}
	status := api.Status{
		Now: now, Version: "1.4.0", GatewayID: "gw-330502103-yuncun-01", StartedAt: now.Add(-3 * time.Hour), UptimeS: 10800,
		Uplink:  api.UplinkStatus{Broker: "tls://mqtt.township.example:8883", Connected: true, LastPublishAt: now.Add(-5 * time.Second)},
		Buffer:  api.BufferStatus{Path: "/var/lib/fenghuo/outbox.db", Depth: 3, OldestUnsentAt: now.Add(-150 * time.Second), OldestUnsentAgeS: 150, LastSeq: 41, Sent: 38},
		Devices: api.DevicesStatus{Online: 3, Total: 3},
		Uplinks: uplinks,
	}
	queue := api.Queue{Now: now, Depth: 1, Uplinks: uplinks, Items: []api.QueueItem{
		{Seq: 41, State: "open", Hazard: "smoke_fire_alarm", Device: "smoke-1f-kitchen", Level: 1, TicketID: "gw-330502103-yuncun-01/smoke-1f-kitchen/R1/20261129T075800.000", CreatedAt: now.Add(-150 * time.Second), AgeS: 150},
	}}
	var b bytes.Buffer
	if down := Status(&b, status, time.UTC); !down {
		t.Error("a disconnected centre link does not make diag status exit non-zero")
	}
	golden(t, "diag_status_two_uplinks.golden", b.String())
	b.Reset()
	Queue(&b, queue, time.UTC)
	golden(t, "diag_queue_two_uplinks.golden", b.String())
	b.Reset()
	Queue(&b, api.Queue{Now: now, Uplinks: uplinks[:1:1]}, time.UTC)
	if got := b.String(); got != "queue empty: the broker has acknowledged every event\n" {
		t.Errorf("one uplink, empty queue: %q", got)
	}
}

// TestUplinkTraceGolden: diag trace --uplink prints each frame's header,
// objects, error and hex, escapes stripped; --json one object a line.
func TestUplinkTraceGolden(t *testing.T) {
	at := time.Date(2026, 11, 29, 0, 15, 2, 120e6, time.UTC)
	frames := []api.UplinkFrame{
		{At: at, Uplink: "gb26875", Dir: "tx", Hex: "4040070001012d26",
			Summary: "#7 send 004CF375DFD9→000000000000 2026-11-29 08:15:02",
			Objects: []string{"component state (2)", "1/1 point photoelectric smoke detector(42) 1-1 normal+fire \"一楼厨房烟感\x1b]0;x\a\" at 2026-11-29 08:15:02"}},
		{At: at.Add(4 * time.Millisecond), Uplink: "gb26875", Dir: "rx", Hex: "4040070001012d27", Summary: "#7 deny", Error: "gb26875: bad checksum"},
	}
	var b bytes.Buffer
	tr := NewUplinkTrace(&b, false, time.UTC)
	for _, f := range frames {
		tr.Frame(f)
	}
	golden(t, "diag_trace_uplink.golden", b.String())
	b.Reset()
	tr = NewUplinkTrace(&b, true, time.UTC)
	tr.Frame(frames[1])
	if got := b.String(); got != `{"at":"2026-11-29T00:15:02.124Z","uplink":"gb26875","dir":"rx","hex":"4040070001012d27","summary":"#7 deny","error":"gb26875: bad checksum"}`+"\n" {
		t.Errorf("json: %s", got)
	}
}
