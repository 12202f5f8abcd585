package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
)

// TestDiagControl: a self-test with --direct and no daemon is written on
// the RTU line and recorded in the outbox; once the daemon runs it sends
// that record, a mute goes through the daemon's bus owner, --direct is
// refused, and an unknown action is a usage error.
func TestDiagControl(t *testing.T) {
	port := rtuLine(t)
	cfgPath, socket := rtuConfig(t, port, time.Second)

	code, out, errOut := fenghuo(t, "diag", "control", "--direct", "--config", cfgPath, "--device", "efd-1f-main", "self-test", "--by", "巡检员")
	if code != 0 || !strings.Contains(out, "efd-1f-main self-test: wrote 2 to command (register 272): ok") ||
		!strings.Contains(out, "recorded in the outbox (sent when the daemon runs)") {
		t.Fatalf("control --direct: exit %d\n%s%s", code, out, errOut)
	}

	startRun(t, cfgPath, socket)
	code, out, errOut = fenghuo(t, "diag", "control", "--socket", socket, "--device", "smoke-1f-kitchen", "mute")
	if code != 0 || !strings.Contains(out, "smoke-1f-kitchen mute: wrote 2 to command (register 32): ok") || !strings.Contains(out, "recorded as operation") {
		t.Fatalf("control through the daemon: exit %d\n%s%s", code, out, errOut)
	}
	var q api.Queue
	diagJSON(t, &q, 0, "diag", "queue", "--socket", socket)
	ops := 0
	for _, it := range q.Items {
		if it.State == "operation" {
			ops++
		}
	}
	if ops != 2 {
		t.Errorf("queue holds %d operation records, want 2 (the --direct one and the daemon's): %+v", ops, q.Items)
	}

	code, _, errOut = fenghuo(t, "diag", "control", "--direct", "--config", cfgPath, "--device", "efd-1f-main", "reset")
	if code != 1 || !strings.Contains(errOut, "--direct refused") {
		t.Errorf("control --direct while the daemon runs: exit %d %s", code, errOut)
	}
	code, _, errOut = fenghuo(t, "diag", "control", "--socket", socket, "--device", "smoke-1f-kitchen", "explode")
	if code != 2 || !strings.Contains(errOut, "exactly one action is required: reset, mute, self-test") {
		t.Errorf("unknown action: exit %d %s", code, errOut)
	}
}
