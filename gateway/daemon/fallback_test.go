package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
)

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
	if d.loop.FallbackImported() != 0 {
		t.Errorf("imported %d events from a damaged file", d.loop.FallbackImported())
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
	if as, err := d.views.Status(t.Context()); err != nil || !as.Buffer.StorageFault || as.Buffer.StorageError == "" {
		t.Errorf("diag status: %+v, %v", as.Buffer, err)
	}
	waitFor(t, 10*time.Second, "R29 open", func() bool {
		for _, o := range d.loop.Rules().Open() {
			if o.Rule == rules.StorageRule {
				return true
			}
		}
		return false
	})
}
