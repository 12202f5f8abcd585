package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
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

// TestDamagedFallbackMovedAside: a fallback file that cannot be read never
// stops the gateway from starting: it is moved aside for an operator.
func TestDamagedFallbackMovedAside(t *testing.T) {
	db := filepath.Join(t.TempDir(), "outbox.db")
	if err := os.WriteFile(db+".fallback.jsonl", []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := newDaemon(t, fmt.Sprintf(testConfig, "127.0.0.1:1", "tcp://127.0.0.1:1", db), Options{})
	defer d.store.Close()
	if _, err := os.Stat(db + ".fallback.jsonl"); !os.IsNotExist(err) {
		t.Errorf("damaged fallback file still in place: %v", err)
	}
	if m, _ := filepath.Glob(db + ".fallback.jsonl.bad-*"); len(m) != 1 {
		t.Errorf("moved-aside files %v, want one", m)
	}
	if d.storage.imported != 0 {
		t.Errorf("imported %d events from a damaged file", d.storage.imported)
	}
}

// TestDeletedOutboxIsStorageFault (issue 15 item 4): an outbox file deleted
// while the daemon runs is noticed by the periodic file check and reported
// as a storage fault (status, diag status) and the R29 ticket.
func TestDeletedOutboxIsStorageFault(t *testing.T) {
	db := filepath.Join(t.TempDir(), "outbox.db")
	d, _ := runDaemon(t, fmt.Sprintf(testConfig, "127.0.0.1:1", "tcp://127.0.0.1:1", db), Options{checkFileEvery: 100 * time.Millisecond})
	if err := os.Remove(db); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the storage fault", func() bool { return d.status().StorageFault })
	if as, err := d.apiStatus(t.Context()); err != nil || !as.Buffer.StorageFault || as.Buffer.StorageError == "" {
		t.Errorf("diag status: %+v, %v", as.Buffer, err)
	}
	waitFor(t, 10*time.Second, "R29 open", func() bool {
		for _, o := range d.engine.Open() {
			if o.Rule == rules.StorageRule {
				return true
			}
		}
		return false
	})
}
