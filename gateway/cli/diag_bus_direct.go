package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/busdiag"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
)

// directFlags open a bus without a daemon (--direct): the line from
// --port/--address, or the bus of --config.
type directFlags struct {
	on             bool
	port, address  string
	typ, parity    string
	baud, stopBits int
	timeout        time.Duration
}

// defaultDirectTimeout is the per-request timeout of a line given by flags.
const defaultDirectTimeout = 300 * time.Millisecond

var directOnly = []string{"port", "address", "type", "baud", "parity", "stop-bits", "timeout"}

func (df *directFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.BoolVar(&df.on, "direct", false, "no daemon: open the bus yourself (refused while a daemon holds the port)")
	fl.StringVar(&df.port, "port", "", "with --direct: serial port of an rtu line, e.g. /dev/ttyUSB0")
	fl.IntVar(&df.baud, "baud", 9600, "with --direct --port: baud rate")
	fl.StringVar(&df.parity, "parity", "N", "with --direct --port: parity N, E or O")
	fl.IntVar(&df.stopBits, "stop-bits", 1, "with --direct --port: stop bits 1 or 2")
	fl.StringVar(&df.address, "address", "", "with --direct: host:port of a Modbus TCP (or --type rtu-over-tcp) bus")
	fl.StringVar(&df.typ, "type", "tcp", "with --direct --address: tcp or rtu-over-tcp")
	fl.DurationVar(&df.timeout, "timeout", 0, "with --direct: per-request timeout (default: the config's, else 300ms)")
	c.PreRunE = func(c *cobra.Command, _ []string) error {
		for _, name := range directOnly {
			if c.Flags().Changed(name) && !df.on {
				return usage(fmt.Errorf("--%s goes with --direct", name))
			}
		}
		if df.port != "" && df.address != "" {
			return usage(errors.New("--direct: give --port (a serial line) or --address (TCP), not both"))
		}
		return nil
	}
}

// directConfig is the config of --config, loaded for --direct.
func directConfig(f *diagFlags, stderr io.Writer, what string) (*config.Config, error) {
	if f.config == "" {
		return nil, usage(fmt.Errorf("--direct: %s needs --config FILE", what))
	}
	cfg, _, err := loadConfig(f.config, stderr, "")
	if err != nil {
		return nil, err
	}
	// The config's own daemon owns all its buses, TCP ones too (where
	// there is no port lock): a second master to a serial device server
	// corrupts that line as surely as one on the tty.
	if sock := cfg.Local.Socket; sock != "" && api.Answers(sock) {
		return nil, failed(fmt.Errorf("--direct refused: the fenghuo daemon of %s is running (it answers on %s) and owns its buses (a second master corrupts frames): run the command without --direct, it goes through the daemon", f.config, sock))
	}
	return cfg, nil
}

// line is the bus --direct opens: from --port/--address, else the bus
// named busName in --config.
func (df *directFlags) line(f *diagFlags, busName string, stderr io.Writer) (config.Bus, *config.Config, error) {
	timeout := df.timeout
	if timeout <= 0 {
		timeout = defaultDirectTimeout
	}
	name := busName
	if name == "" {
		name = "direct"
	}
	switch {
	case df.port != "":
		return config.Bus{Name: name, Type: "rtu", Port: df.port, Baud: df.baud, Parity: df.parity, StopBits: df.stopBits, DataBits: 8, Timeout: timeout}, nil, nil
	case df.address != "":
		if df.typ != "tcp" && df.typ != "rtu-over-tcp" {
			return config.Bus{}, nil, usage(fmt.Errorf("--type %q: want tcp or rtu-over-tcp", df.typ))
		}
		return config.Bus{Name: name, Type: df.typ, Address: df.address, Timeout: timeout}, nil, nil
	case f.config == "":
		return config.Bus{}, nil, usage(errors.New("--direct needs the line: --port P (serial) or --address H:P (TCP), or --config FILE with --bus B"))
	}
	cfg, err := directConfig(f, stderr, "a bus")
	if err != nil {
		return config.Bus{}, nil, err
	}
	var names []string
	for _, b := range cfg.Buses {
		if b.Name == busName {
			if df.timeout > 0 {
				b.Timeout = df.timeout
			}
			return b, cfg, nil
		}
		names = append(names, b.Name)
	}
	if busName == "" {
		return config.Bus{}, nil, usage(fmt.Errorf("--direct --config: which bus? give --bus B (buses in %s: %s)", f.config, strings.Join(names, ", ")))
	}
	return config.Bus{}, nil, usage(fmt.Errorf("bus %q is not in %s (buses: %s)", busName, f.config, strings.Join(names, ", ")))
}

// open opens b for --direct, after checking that no other master (a
// running daemon) holds its serial port; onFrame (or nil) sees its frames.
func (df *directFlags) open(b config.Bus, onFrame func(api.TraceFrame)) (io.Closer, busdiag.Runner, error) {
	tr, err := busdiag.OpenDirect(b, onFrame)
	var pe *busdiag.PortError
	switch {
	case errors.Is(err, busdiag.ErrPortLocked):
		return nil, nil, failed(fmt.Errorf("--direct refused: %v. A running fenghuo daemon owns this line (a second master corrupts frames): run the command without --direct, it goes through the daemon", err))
	case errors.As(err, &pe):
		return nil, nil, failed(fmt.Errorf("--direct: %v", err))
	case err != nil:
		return nil, nil, usage(fmt.Errorf("--direct: %v", err))
	}
	return tr, busdiag.Direct(tr), nil
}

func (df *directFlags) read(ctx context.Context, f *diagFlags, rf readFlags, stderr io.Writer) (api.ReadResult, error) {
	if rf.device == "" {
		b, _, err := df.line(f, rf.bus, stderr)
		if err != nil {
			return api.ReadResult{}, err
		}
		line, run, err := df.open(b, nil)
		if err != nil {
			return api.ReadResult{}, err
		}
		defer line.Close()
		return busdiag.ReadRaw(ctx, run, b.Name, rf.slave, rf.fc, rf.addr, rf.count)
	}
	cfg, err := directConfig(f, stderr, "--device")
	if err != nil {
		return api.ReadResult{}, err
	}
	dev, p, b, err := findDevice(cfg, rf.device, f.config)
	if err != nil {
		return api.ReadResult{}, err
	}
	if df.timeout > 0 {
		b.Timeout = df.timeout
	}
	line, run, err := df.open(b, nil)
	if err != nil {
		return api.ReadResult{}, err
	}
	defer line.Close()
	res, err := busdiag.ReadDevice(ctx, run, dev, p, rf.point)
	var re *api.RejectedError
	if errors.As(err, &re) {
		return res, usage(re)
	}
	return res, err
}

// findDevice looks a device up in cfg with its profile and bus.
func findDevice(cfg *config.Config, id, file string) (config.Device, *profile.Profile, config.Bus, error) {
	var ids []string
	for _, d := range cfg.Devices {
		if d.ID != id {
			ids = append(ids, d.ID)
			continue
		}
		p, _ := cfg.Profiles().Get(d.Profile)
		for _, b := range cfg.Buses {
			if b.Name == d.Bus {
				return d, p, b, nil
			}
		}
	}
	return config.Device{}, nil, config.Bus{}, usage(fmt.Errorf("device %q is not in %s (devices: %s)", id, file, strings.Join(ids, ", ")))
}

func (df *directFlags) scan(ctx context.Context, f *diagFlags, req api.ScanRequest, on func(api.StreamEvent), stderr io.Writer) (api.ScanResult, error) {
	b, cfg, err := df.line(f, req.Bus, stderr)
	if err != nil {
		return api.ScanResult{}, err
	}
	profiles := (*profile.Set)(nil)
	if cfg != nil {
		profiles = cfg.Profiles()
	} else if profiles, err = profile.Load(""); err != nil {
		return api.ScanResult{}, failed(err)
	}
	line, run, err := df.open(b, nil)
	if err != nil {
		return api.ScanResult{}, err
	}
	defer line.Close()
	req.Bus = b.Name
	res, err := busdiag.Scan(ctx, req, profiles, run, func(ev api.StreamEvent) error { on(ev); return nil })
	if err != nil {
		return res, failed(err)
	}
	return res, nil
}

// trace --direct: with no daemon nobody polls, so the CLI polls the
// config's devices on the bus, once a second each, and shows the frames.
func (df *directFlags) trace(ctx context.Context, f *diagFlags, bus string, d time.Duration, onFrame func(api.TraceFrame), stderr io.Writer) error {
	if f.config == "" {
		return usage(errors.New("trace --direct needs --config FILE and --bus B: with no daemon polling, it polls the bus's devices itself to have frames to show"))
	}
	b, cfg, err := df.line(f, bus, stderr)
	if err != nil {
		return err
	}
	readers, err := busdiag.Readers(cfg, b.Name)
	if err != nil {
		return failed(err)
	}
	if len(readers) == 0 {
		return usage(fmt.Errorf("trace --direct: no device of %s is on bus %s: nothing to poll", f.config, b.Name))
	}
	line, run, err := df.open(b, onFrame)
	if err != nil {
		return err
	}
	defer line.Close()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	busdiag.Poll(ctx, run, readers, time.Second)
	return nil
}
