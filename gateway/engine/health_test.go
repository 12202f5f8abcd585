package engine

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckStorageReportsAFailedWrite(t *testing.T) {
	hs := checkStorage(filepath.Join(t.TempDir(), "missing", "outbox.db"))
	if hs.WriteOK || !strings.Contains(hs.Error, "no such file or directory") {
		t.Fatalf("a write into a missing directory: %+v", hs)
	}
}
