package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/sim"
)

const reloadRunConfig = `
gateway:
  id: gw-330502103-run-02
  site: {name: 云村文化礼堂, township: 织里镇, township_code: "330502103"}
buses:
  - {name: lan, type: tcp, address: "%s", timeout: 300ms}
devices:
  - {id: smoke-3f, name: %s, bus: lan, slave: %d, profile: smoke-detector, location: 三楼走廊, poll: 200ms}
uplink:
  mqtt: {broker: "tcp://127.0.0.1:1"}
buffer: {path: "%s"}
local: {socket: "%s", metrics: ""}
`

// TestRunReloadsOnSIGHUP: `fenghuo run` takes a real SIGHUP: a broken
// config is refused (the log and diag status say why, with the key path),
// and diag reload applies a good one.
func TestRunReloadsOnSIGHUP(t *testing.T) {
	profiles, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := profiles.Get("smoke-detector")
	srv := sim.NewServer()
	srv.AddDevice(3, p)
	addr, err := srv.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	dir := t.TempDir()
	sock := filepath.Join(dir, "fenghuo.sock")
	text := func(name string, slave int) string {
		return fmt.Sprintf(reloadRunConfig, addr, name, slave, filepath.Join(dir, "outbox.db"), sock)
	}
	cfg := writeFile(t, "fenghuo.yaml", text("三楼烟感", 3))

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() { code <- run(ctx, []string{"run", "--config", cfg}, &stdout, &stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-code:
		case <-time.After(15 * time.Second):
			t.Error("run did not stop within 15 s")
		}
	})
	waitUntil(t, 15*time.Second, "the local socket", func() bool { _, err := os.Stat(sock); return err == nil })

	if err := os.WriteFile(cfg, []byte(text("三楼烟感", 300)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	waitUntil(t, 15*time.Second, "the refused reload in diag status", func() bool {
		out = syncBuffer{}
		run(context.Background(), []string{"diag", "status", "--socket", sock}, &out, &errOut)
		return strings.Contains(out.String(), "REFUSED")
	})
	if !strings.Contains(out.String(), "devices[0].slave: 300") || !strings.Contains(out.String(), "(sighup)") {
		t.Errorf("diag status after a bad SIGHUP:\n%s", out.String())
	}
	if !strings.Contains(stderr.String(), "config reload refused") {
		t.Errorf("the refusal was not logged:\n%s", stderr.String())
	}

	if err := os.WriteFile(cfg, []byte(text("三楼走廊烟感", 3)), 0o600); err != nil {
		t.Fatal(err)
	}
	out = syncBuffer{}
	c := run(context.Background(), []string{"diag", "reload", "--socket", sock}, &out, &errOut)
	if c != 0 ||
		!strings.Contains(out.String(), ": ok") || !strings.Contains(out.String(), "buses kept polling  lan") {
		t.Fatalf("diag reload of a good config: exit %d\n%s%s", c, out.String(), errOut.String())
	}
	if err := os.WriteFile(cfg, []byte(text("三楼走廊烟感", 0)), 0o600); err != nil {
		t.Fatal(err)
	}
	out = syncBuffer{}
	if c := run(context.Background(), []string{"diag", "reload", "--socket", sock}, &out, &errOut); c != 1 ||
		!strings.Contains(out.String(), "devices[0].slave") {
		t.Fatalf("diag reload of a bad config: exit %d, want 1\n%s", c, out.String())
	}
}
