package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875/centre"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
)

// runCentre serves a reference centre on 127.0.0.1:0 until the test ends.
func runCentre(t *testing.T, o centre.Options) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- centre.New(o).Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("centre: %v", err)
		}
	})
	return ln.Addr().String()
}

// diag uplink with uplink.gb26875: the broker's steps, then the centre's
// (TCP, a frame confirmed) with the round trip; a centre that denies is a
// failed step and exit 1, the broker's verdict still printed.
func TestDiagUplinkCentre(t *testing.T) {
	cleanEnv(t)
	broker := mqtttest.StartMosquitto(t)
	good := runCentre(t, centre.Options{})
	bad := runCentre(t, centre.Options{Decide: func(gb26875.Frame) centre.Action { return centre.Deny }})
	for _, tc := range []struct {
		name, centre string
		code         int
		want         []string
	}{
		{"confirms", good, 0, []string{"centre   " + good + " (device address 330502103001, centre address 7)",
			"TCP      ok     T  connected to " + good, "confirm  ok     T  device version 1.0 confirmed, serial 0",
			"uplink ok: ", "centre ok: "}},
		{"denies", bad, 1, []string{"centre   " + bad, "TCP      ok     T  ", "confirm  FAILED T  the centre denied (6)", "uplink ok: "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := uplinkConfig(t, broker.URL(), fmt.Sprintf("  gb26875: {centre: %q, address: 330502103001, centre_address: 7}", tc.centre))
			code, out, errOut := fenghuo(t, "diag", "uplink", "--config", cfg, "--timeout", "3s")
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out, errOut)
			}
			norm := normaliseSteps(out)
			for _, w := range tc.want {
				if !strings.Contains(norm, w) {
					t.Errorf("output lacks %q:\n%s", w, norm)
				}
			}
			if tc.code != 0 && !strings.Contains(errOut, "centre confirm failed") {
				t.Errorf("stderr %q does not name the failed step", errOut)
			}
		})
	}
}
