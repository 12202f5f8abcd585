package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/diagview"
	"github.com/fenghuo-iot/fenghuo/gateway/uplinks"
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
	if asJSON {
		if err := diagview.JSON(out, res); err != nil {
			return err
		}
	}
	if !res.OK {
		return failed(fmt.Errorf("diag uplink: %s failed: %s", diagview.StepName(res.Failed), res.LastError()))
	}
	fmt.Fprintln(lines, "uplink ok: the gateway can reach, log in to and publish on the broker")
	return nil
}
