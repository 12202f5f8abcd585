package api

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A user outside the socket's group is told which group to join (tested
// on the message: the tests run as root, who opens any socket).
func TestExplainPermission(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "fenghuo.sock")
	err := Explain(sock, fmt.Errorf("%s: %w", sock, os.ErrPermission))
	want := "permission denied on " + sock + ": the socket is for the "
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "usermod -aG") {
		t.Errorf("got %v, want %q…", err, want)
	}
	if err := Explain(sock, fmt.Errorf("dial: %w", ErrNoDaemon)); err == nil || !strings.Contains(err.Error(), "no fenghuo daemon on "+sock) {
		t.Errorf("no daemon: %v", err)
	}
}
