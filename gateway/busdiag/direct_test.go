package busdiag_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/busdiag"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
)

// withConfig is a DirectLine on the bus of cfg; loads counts the loads.
func withConfig(cfg *config.Config, loads *int) busdiag.DirectLine {
	return busdiag.DirectLine{File: "site.yaml", Config: func() (*config.Config, error) { *loads++; return cfg, nil }}
}

// --direct on the simulated site: a device read and a raw read through
// the config's bus, a control written, the config loaded once each.
func TestDirectLineOnTheSite(t *testing.T) {
	cfg := tcpSite(t)
	loads := 0
	l := withConfig(cfg, &loads)
	dev, err := l.Read(t.Context(), api.ReadRequest{Device: "efd-1", Point: "residual_current"})
	if err != nil || dev.Device != "efd-1" || len(dev.Points) != 1 || dev.Points[0].Name != "residual_current" {
		t.Fatalf("device read: %v %+v", err, dev)
	}
	raw, err := l.Read(t.Context(), api.ReadRequest{Bus: "lan", Slave: 1, FC: 3, Addr: 0, Count: 2})
	if err != nil || raw.Bus != "lan" || raw.Error != "" || len(raw.Blocks[0].Registers) != 2 || len(raw.Pairs) != 1 {
		t.Fatalf("raw read: %v %+v", err, raw)
	}
	var recorded api.Control
	res, err := l.Control(t.Context(), api.ControlRequest{Device: "smoke-1", Action: "reset"}, func(c *config.Config, r api.Control) error {
		if c != cfg {
			t.Errorf("record got another config")
		}
		recorded = r
		return errors.New("outbox locked")
	})
	if err != nil || res.Result != "ok" || recorded.Device != "smoke-1" || res.RecordError != "outbox locked" {
		t.Fatalf("control: %v %+v (recorded %+v)", err, res, recorded)
	}
	if loads != 3 {
		t.Errorf("config loaded %d times for 3 commands", loads)
	}
}

// A line given by flags needs no config; a slave that does not answer is
// the result's error, not the command's.
func TestDirectLineFromFlags(t *testing.T) {
	cfg := tcpSite(t)
	l := busdiag.DirectLine{Address: cfg.Buses[0].Address, Type: "tcp", Timeout: 100 * time.Millisecond}
	res, err := l.Read(t.Context(), api.ReadRequest{Slave: 9, FC: 3, Addr: 0, Count: 1})
	if err != nil || res.Bus != "direct" || res.Error == "" {
		t.Fatalf("read of a silent slave: %v %+v", err, res)
	}
}

// What a crew gets wrong is a *api.RejectedError (a usage error) naming
// what there is; what cannot be done is another error.
func TestDirectLineRejects(t *testing.T) {
	cfg := tcpSite(t)
	loads := 0
	site := withConfig(cfg, &loads)
	noConfig := busdiag.DirectLine{}
	missing := busdiag.DirectLine{Port: filepath.Join(t.TempDir(), "ttyUSB9"), Baud: 9600, Parity: "N", StopBits: 1}
	ctx := t.Context()
	for _, tc := range []struct {
		name     string
		err      error
		want     string
		rejected bool
	}{
		{"no line", func() error { _, err := noConfig.Read(ctx, api.ReadRequest{Slave: 1, FC: 3, Count: 1}); return err }(),
			"--direct needs the line: --port P (serial) or --address H:P (TCP), or --config FILE with --bus B", true},
		{"bad type", func() error {
			_, err := busdiag.DirectLine{Address: "h:1", Type: "udp"}.Read(ctx, api.ReadRequest{Slave: 1, FC: 3, Count: 1})
			return err
		}(), `--type "udp": want tcp or rtu-over-tcp`, true},
		{"device without config", func() error { _, err := noConfig.Read(ctx, api.ReadRequest{Device: "d"}); return err }(),
			"--direct: --device needs --config FILE", true},
		{"which bus", func() error {
			_, err := site.Scan(ctx, api.ScanRequest{From: 1, To: 1}, func(api.StreamEvent) {})
			return err
		}(),
			"--direct --config: which bus? give --bus B (buses in site.yaml: lan)", true},
		{"unknown bus", func() error {
			_, err := site.Read(ctx, api.ReadRequest{Bus: "rs485-2", Slave: 1, FC: 3, Count: 1})
			return err
		}(),
			`bus "rs485-2" is not in site.yaml (buses: lan)`, true},
		{"unknown device", func() error { _, err := site.Read(ctx, api.ReadRequest{Device: "nope"}); return err }(),
			`device "nope" is not in site.yaml (devices: smoke-1, efd-1, ghost-9)`, true},
		{"unknown action", func() error {
			_, err := site.Control(ctx, api.ControlRequest{Device: "efd-1", Action: "dance"}, nil)
			return err
		}(), "device efd-1: ", true},
		{"trace without config", noConfig.Trace(ctx, "lan", time.Second, func(api.TraceFrame) {}),
			"trace --direct needs --config FILE and --bus B", true},
		{"trace on an empty bus", busdiag.DirectLine{Address: "127.0.0.1:1", Type: "tcp", File: "site.yaml", Config: site.Config}.Trace(ctx, "", time.Second, func(api.TraceFrame) {}),
			"trace --direct: no device of site.yaml is on bus direct: nothing to poll", true},
		{"port missing", func() error { _, err := missing.Read(ctx, api.ReadRequest{Slave: 1, FC: 3, Count: 1}); return err }(),
			"--direct: cannot open " + missing.Port, false},
	} {
		var re *api.RejectedError
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) || errors.As(tc.err, &re) != tc.rejected {
			t.Errorf("%s: %v, want %q (rejected %v)", tc.name, tc.err, tc.want, tc.rejected)
		}
	}
	if _, err := os.Stat(missing.Port); err == nil {
		t.Errorf("%s was created", missing.Port)
	}
}
