package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/outboxtest"
)

func TestHistory(t *testing.T) {
	outboxtest.RunHistory(t, func(t *testing.T) outbox.Outbox {
		s := openT(t, filepath.Join(t.TempDir(), "outbox.db"))
		t.Cleanup(func() { closeT(t, s) })
		return s
	})
}
