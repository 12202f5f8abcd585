package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/gateway/busdiag"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/diagview"
	"github.com/fenghuo-iot/fenghuo/uplink/atomicfile"
)

// initOptions are the flags of `config init`.
type initOptions struct {
	fromScan, out                       string
	force                               bool
	gatewayID, townshipCode, siteName   string
	bus, busType, port, address, parity string
	baud                                int
	broker                              string
}

func newConfigInitCmd() *cobra.Command {
	var o initOptions
	c := &cobra.Command{
		Use:   "init [--from-scan scan.json] [--bus NAME --type rtu --port /dev/ttyS1 ...] [-o FILE] [--force]",
		Short: "Write a starting config, with the devices a bus scan found",
		Long: `init writes a commented starting config (the keys of configs/example.yaml)
to -o FILE, or to stdout without -o. With --from-scan it holds one device per
slave id that ` + "`fenghuo diag scan --json`" + ` found and matched to a profile; a slave
that matched no profile is written commented out with a TODO. The bus is
--bus (default: the scan's bus) with --type, --port or --address, --baud and
--parity. Every value to fill in on site is marked TODO.

The config is validated by the same rules as ` + "`fenghuo config check`" + ` before it
is written; an existing FILE is kept unless --force.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runConfigInit(c.OutOrStdout(), o) },
	}
	fl := c.Flags()
	fl.StringVar(&o.fromScan, "from-scan", "", "the JSON of `fenghuo diag scan --json`")
	fl.StringVarP(&o.out, "output", "o", "", "write the config to FILE (default: stdout)")
	fl.BoolVar(&o.force, "force", false, "replace an existing FILE")
	fl.StringVar(&o.gatewayID, "gateway-id", "gw-330502103-site-01", "gateway.id (TODO: unique in the township)")
	fl.StringVar(&o.townshipCode, "township-code", "330502103", "gateway.site.township_code (9 digits)")
	fl.StringVar(&o.siteName, "site-name", "TODO 场所名称", "gateway.site.name")
	fl.StringVar(&o.bus, "bus", "", "the bus name (default: the scan's bus, else rs485-1)")
	fl.StringVar(&o.busType, "type", "rtu", "the bus type: rtu | tcp | rtu-over-tcp")
	fl.StringVar(&o.port, "port", "/dev/ttyS1", "rtu: the serial device")
	fl.StringVar(&o.address, "address", "", "tcp, rtu-over-tcp: host:port")
	fl.IntVar(&o.baud, "baud", config.DefaultBaud, "rtu: baud rate")
	fl.StringVar(&o.parity, "parity", config.DefaultParity, "rtu: N | E | O")
	fl.StringVar(&o.broker, "broker", "tls://mqtt.township.example:8883", "uplink.mqtt.broker")
	return c
}

// runConfigInit builds, checks and writes the starting config of o.
func runConfigInit(w io.Writer, o initOptions) error {
	if o.out != "" && !o.force {
		if _, err := os.Lstat(o.out); err == nil {
			return failed(fmt.Errorf("config init: %s exists; not overwriting it (--force to replace it)", o.out))
		}
	}
	t := config.TemplateOptions{GatewayID: o.gatewayID, TownshipCode: o.townshipCode, SiteName: o.siteName,
		BusName: o.bus, BusType: o.busType, Port: o.port, Address: o.address, Baud: o.baud, Parity: o.parity, Broker: o.broker}
	if o.fromScan != "" {
		s, err := busdiag.ReadScan(o.fromScan)
		if err != nil {
			return failed(fmt.Errorf("--from-scan: %w", err))
		}
		t.Scan = &s
	}
	if t.BusName == "" {
		t.BusName = "rs485-1"
		if t.Scan != nil && t.Scan.Bus != "" {
			t.BusName = t.Scan.Bus
		}
	}
	text, n, err := busdiag.StartingConfig(t)
	if err != nil {
		return failed(fmt.Errorf("config init: %w", err))
	}
	if o.out == "" {
		_, err := w.Write(text)
		return err
	}
	if err := atomicfile.WriteFile(o.out, text, 0o640); err != nil {
		return failed(err)
	}
	fmt.Fprintf(w, "wrote %s: %d %s on bus %s; fill in the TODOs, then `fenghuo config check %s`\n",
		o.out, n, diagview.Plural(n, "device"), t.BusName, o.out)
	return nil
}
