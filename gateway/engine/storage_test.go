package engine

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// TestFallbackFileRoundTrip: what a stop writes is what the next start
// reads, sent marks included; a damaged file is an error naming it and the
// line.
func TestFallbackFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fb.jsonl")
	at := time.Date(2026, 11, 29, 8, 15, 2, 0, time.UTC)
	recs := []outbox.Record{
		{Seq: 7, EventID: "e7", TicketID: "gw/d/R1/x", State: "open", Hazard: "smoke_fire_alarm", Rule: "R1", Device: "d", Level: 1,
			Payload: []byte(`{"schema":"fenghuo.ticket.v1"}`), CreatedAt: at, SentAt: at.Add(time.Second)},
		{Seq: outbox.TelemetrySeqBase + 3, Priority: outbox.PriorityTelemetry, Payload: []byte(`{"t":1}`), CreatedAt: at},
	}
	if err := writeFallback(path, recs); err != nil {
		t.Fatal(err)
	}
	got, err := readFallback(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Seq != 7 || !got[0].SentAt.Equal(recs[0].SentAt) || !got[1].SentAt.IsZero() ||
		!slices.Equal(got[1].Payload, recs[1].Payload) || got[0].Hazard != "smoke_fire_alarm" || got[1].Priority != outbox.PriorityTelemetry {
		t.Fatalf("read back %+v", got)
	}
	if es, _ := os.ReadDir(filepath.Dir(path)); len(es) != 1 {
		t.Errorf("files beside the fallback file (temporary ones left?): %v", es)
	}
	if err := os.WriteFile(path, []byte("{\"seq\":1}\nnot json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readFallback(path); err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("damaged file: %v, want an error naming %s line 2", err, path)
	}
}
