package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
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
		RunE: func(c *cobra.Command, _ []string) error {
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
			profiles, err := profile.Load("")
			if err != nil {
				return failed(err)
			}
			text, n, err := buildInitConfig(o, scan, profiles)
			if err != nil {
				return failed(err)
			}
			if err := checkInitConfig(text); err != nil {
				return failed(err)
			}
			if o.out == "" {
				_, err := io.WriteString(c.OutOrStdout(), text)
				return err
			}
			if err := writeFileAtomic(o.out, text, 0o640); err != nil {
				return failed(err)
			}
			fmt.Fprintf(c.OutOrStdout(), "wrote %s: %d %s on bus %s; fill in the TODOs, then `fenghuo config check %s`\n",
				o.out, n, plural(n, "device"), o.bus, o.out)
			return nil
		},
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

// buildInitConfig renders the config; it returns the number of devices
// written (not commented out).
func buildInitConfig(o initOptions, scan *api.ScanResult, profiles *profile.Set) (string, int, error) {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	q := strconv.Quote
	w("# fenghuo gateway config, written by `fenghuo config init`")
	if scan != nil {
		w(" from a scan of bus %s (slaves %d..%d, %d found)", scan.Bus, scan.From, scan.To, len(scan.Found))
	}
	w(".\n# Fill in every TODO, then: fenghuo config check FILE [--print]\n")
	w("# Every key: configs/example.yaml and docs/config.md.\n\n")
	w("gateway:\n")
	w("  id: %s  # TODO: unique in the township; [a-z0-9-], 3..64\n", q(o.gatewayID))
	w("  site:\n")
	w("    name: %s  # TODO: the protected site, shown on tickets\n", q(o.siteName))
	w("    township: \"\"  # TODO: e.g. 织里镇\n")
	w("    township_code: %s  # TODO: the township's 9-digit division code\n", q(o.townshipCode))
	w("    community: \"\"\n    grid: \"\"\n    address: \"\"\n\n")

	w("buses:\n  - name: %s\n    type: %s\n", q(o.bus), o.busType)
	if o.busType == "rtu" {
		w("    port: %s\n    baud: %d\n    parity: %s  # N | E | O: check the device label\n", q(o.port), o.baud, q(o.parity))
	} else {
		w("    address: %s  # host:port\n", q(o.address))
	}
	w("    timeout: 300ms\n    retries: 1\n\n")

	w("devices:\n")
	n := 0
	if scan == nil {
		w("  - id: smoke-1  # TODO: one entry per device; `fenghuo diag scan` finds them\n")
		w("    name: \"TODO 设备名称\"  # shown on tickets, e.g. 一楼厨房烟感\n")
		w("    bus: %s\n    slave: 1\n    profile: smoke-detector  # %s\n    location: \"\"  # TODO: e.g. 一楼厨房\n", q(o.bus), strings.Join(profiles.Names(), " | "))
		n = 1
	} else {
		found := slices.Clone(scan.Found)
		slices.SortFunc(found, func(a, b api.ScanFound) int { return a.Slave - b.Slave })
		for _, f := range found {
			p, ok := profiles.Get(f.Profile)
			if f.Profile == "" || !ok {
				why := "matched no shipped profile"
				if f.Profile != "" {
					why = fmt.Sprintf("matched profile %q, which this fenghuo does not ship", f.Profile)
				}
				answer := ""
				if f.Answer != "" {
					answer = ", " + f.Answer
				}
				w("  # TODO: slave %d answered (%.1f ms%s) but %s: set its profile\n", f.Slave, f.LatencyMS, answer, why)
				w("  # (one of %s, or a file in profiles_dir), then uncomment it.\n", strings.Join(profiles.Names(), ", "))
				w("  # - id: device-%d\n  #   name: \"TODO 设备名称\"\n  #   bus: %s\n  #   slave: %d\n  #   profile: TODO\n  #   location: \"\"\n", f.Slave, q(o.bus), f.Slave)
				continue
			}
			conf := f.Confidence
			if conf == "" {
				conf = "unknown"
			}
			if others := slices.DeleteFunc(slices.Clone(f.Candidates), func(c string) bool { return c == p.Name }); len(others) > 0 {
				conf += "; also matched " + strings.Join(others, ", ")
			}
			w("  - id: %s-%d  # matched by scan (%s), answered in %.1f ms\n", p.Name, f.Slave, conf, f.LatencyMS)
			w("    name: %s  # TODO: the name shown on tickets, e.g. 一楼厨房烟感\n", q(fmt.Sprintf("TODO %s %d号", orDash(p.CategoryZh), f.Slave)))
			w("    bus: %s\n    slave: %d\n    profile: %s  # %s %s\n    location: \"\"  # TODO: where it hangs\n", q(o.bus), f.Slave, p.Name, p.Vendor, p.Model)
			n++
		}
	}
	if n == 0 {
		var slaves []string
		for _, f := range scan.Found {
			slaves = append(slaves, strconv.Itoa(f.Slave))
		}
		if len(slaves) == 0 {
			return "", 0, fmt.Errorf("config init: the scan of bus %s found no device: nothing to configure (wiring, baud, parity? see docs/operations.md)", scan.Bus)
		}
		return "", 0, fmt.Errorf("config init: no answering slave (%s) matched a profile: add a profile for the model to profiles_dir, or write the config from configs/example.yaml", strings.Join(slaves, ", "))
	}
	w("\nuplink:\n  mqtt:\n")
	w("    broker: %s  # TODO: the township's broker\n", q(o.broker))
	w("    username: \"\"  # TODO\n    password_file: \"\"  # e.g. /etc/fenghuo/mqtt.pass, or FENGHUO_UPLINK_MQTT_PASSWORD\n")
	w("    ca_file: \"\"  # PEM CA bundle for tls://; default: the system roots\n\n")
	w("buffer:\n  path: /var/lib/fenghuo/outbox.db\n  max_size: 256MiB\n\n")
	w("local:\n  socket: %s\n  metrics: 127.0.0.1:9108\n\n", config.DefaultSocket)
	w("log:\n  level: info\n  format: text\n")
	return b.String(), n, nil
}

// checkInitConfig validates text with config.Parse, as `config check`
// would the written file.
func checkInitConfig(text string) error {
	_, err := config.Parse([]byte(text))
	if err == nil {
		return nil
	}
	var msgs []string
	for _, p := range config.Problems(err) {
		msgs = append(msgs, p.Error())
	}
	return fmt.Errorf("config init: the config would not be valid, nothing written: %s", strings.Join(msgs, "; "))
}

// writeFileAtomic writes text to a temporary file next to path and
// renames it into place.
func writeFileAtomic(path, text string, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("config init: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = io.WriteString(tmp, text)
	err = errors.Join(err, tmp.Chmod(mode), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("config init: %s: %w", path, err)
	}
	return nil
}
