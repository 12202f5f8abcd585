package cli

import (
	"os"
	"strings"
	"testing"
)

// TestStationAckKeyFile: a key file other users can read is refused before
// anything is sent, with its path and without the key.
func TestStationAckKeyFile(t *testing.T) {
	const secret = "c0ffee-c0ffee-c0ffee-c0ffee-c0ffee-c0ffee"
	key := writeFile(t, "gw.key", secret)
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := fenghuo(t, "station", "ack", "T-1", "--broker", "tcp://127.0.0.1:1", "--township", "330502103",
		"--gateway", "gw-1", "--key-file", key)
	want := "station ack: --key-file " + key + " is accessible to other users (mode 0644)"
	if code != 1 || !strings.Contains(stderr, want) || strings.Contains(stderr, secret) {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, want)
	}
}
