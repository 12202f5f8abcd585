package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/outboxtest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/sqlite"
)

// TestEvictionPolicy: the SQL of Evict chooses what outbox.PlanEviction
// chooses on the same records.
func TestEvictionPolicy(t *testing.T) {
	outboxtest.RunEviction(t, func(t *testing.T) outbox.Outbox {
		s, err := sqlite.Open(filepath.Join(t.TempDir(), "outbox.db"), sqlite.Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { closeT(t, s) })
		return s
	})
}
