package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox/sqlite"
)

// runConfig writes a minimal config whose outbox is at bufferPath.
func runConfig(t *testing.T, bufferPath string) string {
	t.Helper()
	return writeFile(t, "fenghuo.yaml", fmt.Sprintf(`
gateway:
  id: gw-330502103-run-02
  site: {name: 云村文化礼堂, township: 织里镇, township_code: "330502103"}
buses:
  - {name: lan, type: tcp, address: "127.0.0.1:1", timeout: 300ms}
devices:
  - {id: smoke-3f, name: 三楼烟感, bus: lan, slave: 3, profile: smoke-detector, location: 三楼走廊}
uplink:
  mqtt: {broker: "tcp://127.0.0.1:1"}
buffer: {path: "%s"}
local: {socket: "", metrics: ""}
`, bufferPath))
}

// TestRunRefusesAnUnusableOutbox: `fenghuo run` with an outbox it cannot
// open (missing directory, read-only filesystem) exits non-zero with a
// message naming buffer.path and the cause, and leaves the file alone
// (issue 15 item 3: systemd restarts it and an operator sees why).
func TestRunRefusesAnUnusableOutbox(t *testing.T) {
	t.Run("missing_directory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "gone", "outbox.db")
		var stdout, stderr syncBuffer
		code := run(context.Background(), []string{"run", "--config", runConfig(t, path)}, &stdout, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), "buffer.path "+path) || !strings.Contains(stderr.String(), "directory missing") {
			t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 naming buffer.path %s and the missing directory", code, stderr.String(), path)
		}
	})
	t.Run("read_only_filesystem", func(t *testing.T) {
		dir := t.TempDir()
		if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=4m"); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("mount tmpfs: %v (CI=true: this test must run)", err)
			}
			t.Skipf("cannot mount a tmpfs to make read-only (%v): run as root, or in CI", err)
		}
		t.Cleanup(func() { _ = syscall.Unmount(dir, 0) })
		path := filepath.Join(dir, "outbox.db")
		s, err := sqlite.Open(path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr syncBuffer
		code := run(context.Background(), []string{"run", "--config", runConfig(t, path)}, &stdout, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), "buffer.path "+path) || !strings.Contains(stderr.String(), "read-only filesystem") {
			t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 naming buffer.path %s and the read-only filesystem", code, stderr.String(), path)
		}
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("the outbox is gone: %v", err)
		}
	})
}
