package config

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRestoreUnconfirmed: a gateway that died in a push's confirm window
// (the pushed file in place, the previous one beside it) starts again on
// the previous config.
func TestRestoreUnconfirmed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fenghuo.yaml")
	for name, text := range map[string]string{path: "pushed\n", path + PreviousSuffix: "previous\n"} {
		if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	restored, err := RestoreUnconfirmed(path)
	if got, _ := os.ReadFile(path); err != nil || !restored || string(got) != "previous\n" {
		t.Fatalf("RestoreUnconfirmed: %v %v, file %q; want the previous file back", restored, err, got)
	}
	if restored, err := RestoreUnconfirmed(path); err != nil || restored {
		t.Fatalf("second RestoreUnconfirmed: %v %v, want nothing to do", restored, err)
	}
}
