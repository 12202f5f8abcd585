package cli

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/diagview"
	"github.com/fenghuo-iot/fenghuo/gateway/uplinks"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875/link"
	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
)

// DefaultConfigPath is where install.sh puts the gateway's config.
const DefaultConfigPath = "/etc/fenghuo/fenghuo.yaml"

// newDiagUplinkCmd is `fenghuo diag uplink`: the broker reached step by
// step with the configured credentials, without the daemon.
func newDiagUplinkCmd(f *diagFlags) *cobra.Command {
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "uplink [--config FILE] [--timeout 10s]",
		Short: "Connect to the broker as configured and report DNS, TCP, TLS, MQTT auth and a QoS 1 round trip",
		Long: `uplink reads uplink.mqtt of the config (--config, default ` + DefaultConfigPath + `) and
connects to the broker itself, step by step, each with its time: DNS, TCP,
TLS (the broker's certificate subject, issuer and expiry; verification on),
MQTT CONNECT with the configured credentials (the CONNACK code by name), and
a QoS 1 publish to P/T/G/probe answered by PUBACK. It needs no daemon and
uses the client id <client_id>-probe, so it never takes over the daemon's
session. The password is never printed.

With uplink.gb26875 configured it then checks the monitoring centre on a
connection of its own: TCP connect, and one send-data frame (the device
version, type 25, which states nothing about the site) that the centre
must confirm, with the round trip. --json prints {"mqtt": …, "gb26875": …}
then (the broker's result alone otherwise).

Exit codes: 0 every step passed; 1 a step failed (named in the output and
on stderr); 2 usage error.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if timeout <= 0 {
				return usage(fmt.Errorf("diag uplink: --timeout %s: want a positive duration", timeout))
			}
			path := f.config
			if path == "" {
				path = DefaultConfigPath
			}
			cfg, _, err := loadConfig(path, c.ErrOrStderr(), "")
			if err != nil {
				return err
			}
			return runDiagUplink(c, cfg, timeout, f.json)
		},
	}
	c.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "how long each step may take")
	return c
}

// runDiagUplink probes the broker and renders the steps as they end, or
// the result as JSON.
func runDiagUplink(c *cobra.Command, cfg *config.Config, timeout time.Duration, asJSON bool) error {
	out := c.OutOrStdout()
	lines := out
	if asJSON {
		lines = io.Discard
	}
	res := mqttlink.Probe(c.Context(), uplinks.MQTTOptions(cfg), mqttlink.ProbeOptions{Timeout: timeout, Location: localTime,
		OnStart: func(r mqttlink.ProbeResult) { diagview.ProbeStart(lines, r) },
		OnStep:  func(s mqttlink.ProbeStep) { diagview.ProbeStep(lines, s) }})
	if cfg.Uplink.GB26875 == nil {
		if asJSON {
			if err := diagview.JSON(out, res); err != nil {
				return err
			}
		}
		return mqttVerdict(lines, res)
	}
	fmt.Fprintln(lines)
	cres, err := link.ProbeSettings(c.Context(), *uplinks.GB26875Settings(cfg), link.ProbeOptions{Timeout: timeout,
		OnStart: func(r link.ProbeResult) { diagview.CentreProbeStart(lines, r.Centre, r.Address, r.CentreAddress) },
		OnStep:  func(s link.ProbeStep) { diagview.CentreProbeStep(lines, s.Step, s.OK, s.Ms, s.Detail, s.Error) }})
	if err != nil {
		return failed(fmt.Errorf("diag uplink: uplink.gb26875: %w", err))
	}
	if asJSON {
		if err := diagview.JSON(out, map[string]any{"mqtt": res, "gb26875": cres}); err != nil {
			return err
		}
	}
	errM := mqttVerdict(lines, res)
	if !cres.OK {
		return errors.Join(errM, failed(fmt.Errorf("diag uplink: centre %s failed: %s", cres.Failed, cres.LastError())))
	}
	fmt.Fprintf(lines, "centre ok: the gateway can reach the monitoring centre and it confirms (round trip %.1f ms)\n", cres.RoundTripMS)
	return errM
}

// mqttVerdict is the broker probe's last line or error.
func mqttVerdict(lines io.Writer, res mqttlink.ProbeResult) error {
	if !res.OK {
		return failed(fmt.Errorf("diag uplink: %s failed: %s", diagview.StepName(res.Failed), res.LastError()))
	}
	fmt.Fprintln(lines, "uplink ok: the gateway can reach, log in to and publish on the broker")
	return nil
}
