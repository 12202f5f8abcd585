package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
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
	var scan *api.ScanResult
	if o.fromScan != "" {
		s, err := readScan(o.fromScan)
		if err != nil {
			return failed(err)
		}
		scan = &s
	}
	if o.bus == "" {
		o.bus = "rs485-1"
		if scan != nil && scan.Bus != "" {
			o.bus = scan.Bus
		}
	}
	text, n, err := initConfig(o, scan)
	if err != nil {
		return failed(err)
	}
	if o.out == "" {
		_, err := w.Write(text)
		return err
	}
	if err := atomicfile.WriteFile(o.out, text, 0o640); err != nil {
		return failed(err)
	}
	fmt.Fprintf(w, "wrote %s: %d %s on bus %s; fill in the TODOs, then `fenghuo config check %s`\n",
		o.out, n, plural(n, "device"), o.bus, o.out)
	return nil
}

// readScan reads and checks a scan result file.
func readScan(path string) (api.ScanResult, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return api.ScanResult{}, fmt.Errorf("--from-scan: %w", err)
	}
	var s api.ScanResult
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&s); err != nil {
		return api.ScanResult{}, fmt.Errorf("--from-scan %s: not the JSON of `fenghuo diag scan --json`: %v", path, err)
	}
	seen := map[int]bool{}
	for i, f := range s.Found {
		if f.Slave < 1 || f.Slave > 247 {
			return api.ScanResult{}, fmt.Errorf("--from-scan %s: found[%d].slave %d is out of range 1..247", path, i, f.Slave)
		}
		if seen[f.Slave] {
			return api.ScanResult{}, fmt.Errorf("--from-scan %s: found[%d].slave %d appears twice", path, i, f.Slave)
		}
		seen[f.Slave] = true
	}
	return s, nil
}

// initConfig is the starting config of o and scan as checked YAML, and
// the number of devices it configures.
func initConfig(o initOptions, scan *api.ScanResult) ([]byte, int, error) {
	profiles, err := profile.Load("")
	if err != nil {
		return nil, 0, err
	}
	d, err := config.Template(config.TemplateOptions{GatewayID: o.gatewayID, TownshipCode: o.townshipCode, SiteName: o.siteName,
		BusName: o.bus, BusType: o.busType, Port: o.port, Address: o.address, Baud: o.baud, Parity: o.parity,
		Broker: o.broker, Scan: scan, Profiles: profiles})
	if err != nil {
		return nil, 0, fmt.Errorf("config init: %w", err)
	}
	text, err := d.YAML()
	if err != nil {
		return nil, 0, err
	}
	return text, len(d.Config.Devices), checkInitConfig(text)
}

// checkInitConfig validates text with config.Parse, as `config check`
// would the written file.
func checkInitConfig(text []byte) error {
	_, err := config.Parse(text)
	if err == nil {
		return nil
	}
	var msgs []string
	for _, p := range config.Problems(err) {
		msgs = append(msgs, p.Error())
	}
	return fmt.Errorf("config init: the config would not be valid, nothing written: %s", strings.Join(msgs, "; "))
}
