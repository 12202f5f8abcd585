package busdiag

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/device"
	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/sched"
)

// This file is `--direct`: the bus work of diag read, scan, trace and
// control on a line the command opens itself, when no daemon runs. Its
// errors are the command's: a *api.RejectedError is a usage error (a flag
// missing or wrong, a bus or device not in the config), anything else
// means the work could not be done.

// DefaultDirectTimeout is the per-request timeout of a line given by flags.
const DefaultDirectTimeout = 300 * time.Millisecond

// DirectLine is the line a --direct command opens: a serial port (Port,
// an rtu line) or a TCP address (Address, Type tcp or rtu-over-tcp) given
// on the command line, else a bus of the config that Config loads.
type DirectLine struct {
	Port, Address, Type, Parity string
	Baud, StopBits              int
	Timeout                     time.Duration // per request; 0: the config's, else DefaultDirectTimeout

	// Config loads the config of --config (nil: none given), called only
	// when the work needs it; File is its path, for messages.
	Config func() (*config.Config, error)
	File   string
}

// config is the config of --config, refused while its own daemon runs.
func (l DirectLine) config(what string) (*config.Config, error) {
	if l.Config == nil {
		return nil, api.Reject("--direct: %s needs --config FILE", what)
	}
	cfg, err := l.Config()
	if err != nil {
		return nil, err
	}
	// The config's own daemon owns all its buses, TCP ones too (where
	// there is no port lock): a second master to a serial device server
	// corrupts that line as surely as one on the tty.
	if sock := cfg.Local.Socket; sock != "" && api.Answers(sock) {
		return nil, fmt.Errorf("--direct refused: the fenghuo daemon of %s is running (it answers on %s) and owns its buses (a second master corrupts frames): run the command without --direct, it goes through the daemon", l.File, sock)
	}
	return cfg, nil
}

// bus is the line to open: from Port or Address, else the bus named name
// in cfg (nil: the config loaded here, returned too).
func (l DirectLine) bus(name string, cfg *config.Config) (config.Bus, *config.Config, error) {
	timeout := cmp.Or(l.Timeout, DefaultDirectTimeout)
	switch {
	case l.Port != "":
		return config.Bus{Name: cmp.Or(name, "direct"), Type: "rtu", Port: l.Port, Baud: l.Baud, Parity: l.Parity, StopBits: l.StopBits, DataBits: 8, Timeout: timeout}, nil, nil
	case l.Address != "":
		if l.Type != "tcp" && l.Type != "rtu-over-tcp" {
			return config.Bus{}, nil, api.Reject("--type %q: want tcp or rtu-over-tcp", l.Type)
		}
		return config.Bus{Name: cmp.Or(name, "direct"), Type: l.Type, Address: l.Address, Timeout: timeout}, nil, nil
	case l.Config == nil:
		return config.Bus{}, nil, api.Reject("--direct needs the line: --port P (serial) or --address H:P (TCP), or --config FILE with --bus B")
	}
	if cfg == nil {
		var err error
		if cfg, err = l.config("a bus"); err != nil {
			return config.Bus{}, nil, err
		}
	}
	var names []string
	for _, b := range cfg.Buses {
		if b.Name == name {
			b.Timeout = cmp.Or(l.Timeout, b.Timeout)
			return b, cfg, nil
		}
		names = append(names, b.Name)
	}
	if name == "" {
		return config.Bus{}, nil, api.Reject("--direct --config: which bus? give --bus B (buses in %s: %s)", l.File, strings.Join(names, ", "))
	}
	return config.Bus{}, nil, api.Reject("bus %q is not in %s (buses: %s)", name, l.File, strings.Join(names, ", "))
}

// device looks a device of the config up, with its profile and its bus
// (the bus's timeout overridden by Timeout).
func (l DirectLine) device(id string) (*config.Config, config.Device, *profile.Profile, config.Bus, error) {
	cfg, err := l.config("--device")
	if err != nil {
		return nil, config.Device{}, nil, config.Bus{}, err
	}
	var ids []string
	for _, d := range cfg.Devices {
		if d.ID != id {
			ids = append(ids, d.ID)
			continue
		}
		p, _ := cfg.Profiles().Get(d.Profile)
		for _, b := range cfg.Buses {
			if b.Name == d.Bus {
				b.Timeout = cmp.Or(l.Timeout, b.Timeout)
				return cfg, d, p, b, nil
			}
		}
	}
	return nil, config.Device{}, nil, config.Bus{}, api.Reject("device %q is not in %s (devices: %s)", id, l.File, strings.Join(ids, ", "))
}

// Direct is the Runner of --direct: the work runs at once on tr.
func Direct(tr transport.Transport) Runner {
	return func(ctx context.Context, fn sched.JobFunc) error { return fn(ctx, tr) }
}

// ErrPortLocked is OpenDirect's error (errors.Is) for a serial port
// another master (a running daemon) holds.
var ErrPortLocked = transport.ErrPortLocked

// PortError is OpenDirect's error for a serial port that cannot be opened.
type PortError struct {
	Port string
	Err  error
}

func (e *PortError) Error() string { return fmt.Sprintf("cannot open %s: %v", e.Port, e.Err) }
func (e *PortError) Unwrap() error { return e.Err }

// OpenDirect opens b for a master that is not the bus owner (--direct),
// after checking that no other master holds its serial port: that error
// wraps ErrPortLocked, a port that cannot be opened is a *PortError, and
// any other error is in b's settings. Each frame goes to onFrame (nil: not
// traced) as a trace line.
func OpenDirect(b config.Bus, onFrame func(api.TraceFrame)) (transport.Transport, error) {
	if b.Type == "rtu" {
		if err := transport.CheckPortFree(b.Port); err != nil {
			if errors.Is(err, transport.ErrPortLocked) {
				return nil, err
			}
			return nil, &PortError{Port: b.Port, Err: err}
		}
	}
	var hook func(transport.Frame)
	if onFrame != nil {
		conv := FrameConverter{MBAP: b.Type == "tcp"}
		hook = func(f transport.Frame) {
			for _, tf := range conv.Convert(f) {
				onFrame(tf)
			}
		}
	}
	return Open(b, hook)
}

// open opens b after checking that no other master (a running daemon)
// holds its serial port; onFrame (or nil) sees its frames.
func open(b config.Bus, onFrame func(api.TraceFrame)) (io.Closer, Runner, error) {
	tr, err := OpenDirect(b, onFrame)
	var pe *PortError
	switch {
	case errors.Is(err, ErrPortLocked):
		return nil, nil, fmt.Errorf("--direct refused: %v. A running fenghuo daemon owns this line (a second master corrupts frames): run the command without --direct, it goes through the daemon", err)
	case errors.As(err, &pe):
		return nil, nil, fmt.Errorf("--direct: %v", err)
	case err != nil:
		return nil, nil, api.Reject("--direct: %v", err)
	}
	return tr, Direct(tr), nil
}

// Read is `diag read --direct`: a device of the config (req.Device, its
// profile's points or req.Point), else a raw read on the line.
func (l DirectLine) Read(ctx context.Context, req api.ReadRequest) (api.ReadResult, error) {
	if req.Device == "" {
		b, _, err := l.bus(req.Bus, nil)
		if err != nil {
			return api.ReadResult{}, err
		}
		line, run, err := open(b, nil)
		if err != nil {
			return api.ReadResult{}, err
		}
		defer line.Close()
		return ReadRaw(ctx, run, b.Name, req.Slave, req.FC, req.Addr, req.Count)
	}
	_, dev, p, b, err := l.device(req.Device)
	if err != nil {
		return api.ReadResult{}, err
	}
	line, run, err := open(b, nil)
	if err != nil {
		return api.ReadResult{}, err
	}
	defer line.Close()
	return ReadDevice(ctx, run, dev, p, req.Point)
}

// Scan is `diag scan --direct`: the ids of req on the line, matched
// against the config's profiles, else the shipped ones.
func (l DirectLine) Scan(ctx context.Context, req api.ScanRequest, emit func(api.StreamEvent)) (api.ScanResult, error) {
	b, cfg, err := l.bus(req.Bus, nil)
	if err != nil {
		return api.ScanResult{}, err
	}
	var profiles *profile.Set
	if cfg != nil {
		profiles = cfg.Profiles()
	} else if profiles, err = profile.Load(""); err != nil {
		return api.ScanResult{}, err
	}
	line, run, err := open(b, nil)
	if err != nil {
		return api.ScanResult{}, err
	}
	defer line.Close()
	req.Bus = b.Name
	return Scan(ctx, req, profiles, run, func(ev api.StreamEvent) error { emit(ev); return nil })
}

// Trace is `diag trace --direct` for d: with no daemon nobody polls, so
// it polls the config's devices on the bus, once a second each, and
// shows the frames to onFrame.
func (l DirectLine) Trace(ctx context.Context, bus string, d time.Duration, onFrame func(api.TraceFrame)) error {
	if l.Config == nil {
		return api.Reject("trace --direct needs --config FILE and --bus B: with no daemon polling, it polls the bus's devices itself to have frames to show")
	}
	cfg, err := l.config("trace")
	if err != nil {
		return err
	}
	b, _, err := l.bus(bus, cfg)
	if err != nil {
		return err
	}
	readers, err := Readers(cfg, b.Name)
	if err != nil {
		return err
	}
	if len(readers) == 0 {
		return api.Reject("trace --direct: no device of %s is on bus %s: nothing to poll", l.File, b.Name)
	}
	line, run, err := open(b, onFrame)
	if err != nil {
		return err
	}
	defer line.Close()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	Poll(ctx, run, readers, time.Second)
	return nil
}

// Control is `diag control --direct`: the command written on the bus of
// the device, then record(cfg, result) (the daemon's RecordOperation,
// which keeps it in the config's outbox); a record that fails is
// RecordError in the result, not an error.
func (l DirectLine) Control(ctx context.Context, req api.ControlRequest, record func(*config.Config, api.Control) error) (api.Control, error) {
	cfg, dev, p, b, err := l.device(req.Device)
	if err != nil {
		return api.Control{}, err
	}
	if err := CheckControl(dev, p, req.Action); err != nil {
		return api.Control{}, err
	}
	line, run, err := open(b, nil)
	if err != nil {
		return api.Control{}, err
	}
	defer line.Close()
	res, err := WriteCommand(ctx, run, dev, p, req.Action)
	if err != nil {
		return res, err
	}
	if rerr := record(cfg, res); rerr != nil {
		res.RecordError = rerr.Error()
	}
	return res, nil
}

// Readers are the pollers of cfg's devices on bus, for a trace with no
// daemon polling (`diag trace --direct`).
func Readers(cfg *config.Config, bus string) ([]*device.Reader, error) {
	var readers []*device.Reader
	for _, dc := range cfg.Devices {
		if dc.Bus != bus {
			continue
		}
		p, _ := cfg.Profiles().Get(dc.Profile)
		plan, err := profile.Compile(p, profile.PlanOptions{})
		if err != nil {
			return nil, fmt.Errorf("device %s: %v", dc.ID, err)
		}
		readers = append(readers, device.NewReader(plan, uint8(dc.Slave)))
	}
	return readers, nil
}

// Poll reads with each reader, one job of run each, then again every
// interval, until ctx is done; the transport's trace hook shows how each
// read went.
func Poll(ctx context.Context, run Runner, readers []*device.Reader, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		for _, r := range readers {
			_ = run(ctx, func(ctx context.Context, tr transport.Transport) error {
				_, _ = r.Read(ctx, tr) // the trace shows how each read went
				return nil
			})
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
