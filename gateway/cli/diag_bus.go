package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/busdiag"
	"github.com/fenghuo-iot/fenghuo/gateway/diagview"
)

// The bus subcommands of diag: read, scan, trace. Through the daemon they
// are jobs of the bus owner, between polls; with --direct the CLI opens
// the line itself (diag_bus_direct.go).

// readFlags are the flags of `diag read`.
type readFlags struct {
	device, point, bus       string
	slave, fc, addr, count   int
	slaveSet, addrSet, isRaw bool
}

func newDiagReadCmd(f *diagFlags) *cobra.Command {
	var rf readFlags
	var df directFlags
	c := &cobra.Command{
		Use:   "read (--device D [--point P] | --bus B --slave S [--fc 3] --addr A [--count N])",
		Short: "Read registers: raw in hex and decimal, the profile's decoding, 32-bit pairs in all four orders",
		Long: `read asks a device, through the daemon's bus owner (between polls), for its
registers and shows them raw (hex and decimal), decoded by the device's profile
(--device), and every register pair in the four word/byte orders ABCD, CDAB,
BADC, DCBA as u32, i32 and f32, side by side.

A Modbus exception is shown by name (exception 02 illegal data address).
Exit codes: 0 the device answered; 1 it did not (no reply, an exception, a
broken frame) or no daemon answers; 2 usage error (unknown device or bus too).`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			rf.slaveSet, rf.addrSet = c.Flags().Changed("slave"), c.Flags().Changed("addr")
			if err := rf.check(df.on); err != nil {
				return usage(err)
			}
			var res api.ReadResult
			var err error
			if df.on {
				res, err = df.lineOf(f, c.ErrOrStderr()).Read(c.Context(), rf.request())
				err = directError(err)
			} else {
				res, err = daemonRead(c.Context(), f, rf.request())
			}
			if err != nil {
				return err
			}
			return printRead(c.OutOrStdout(), f.json, res)
		},
	}
	fl := c.Flags()
	fl.StringVar(&rf.device, "device", "", "configured device id: read its profile's points")
	fl.StringVar(&rf.point, "point", "", "with --device: only this point")
	fl.StringVar(&rf.bus, "bus", "", "bus name (raw read)")
	fl.IntVar(&rf.slave, "slave", 0, "slave id 1..247 (raw read)")
	fl.IntVar(&rf.fc, "fc", 3, "function code: 3 holding, 4 input registers, 1 coils, 2 discrete inputs")
	fl.IntVar(&rf.addr, "addr", 0, "first address, 0-based (raw read)")
	fl.IntVar(&rf.count, "count", 1, "registers (1..125) or bits (1..2000)")
	df.register(c)
	return c
}

// check validates the combination of read flags.
func (rf *readFlags) check(direct bool) error {
	switch {
	case rf.device != "" && (rf.bus != "" || rf.slaveSet || rf.addrSet):
		return errors.New("read: give --device D, or --bus B --slave S --addr A, not both")
	case rf.device != "":
		return nil
	case rf.point != "":
		return errors.New("read: --point goes with --device")
	case rf.bus == "" && !direct:
		return errors.New("read: --device D, or --bus B --slave S --addr A, is required")
	case !rf.slaveSet || !rf.addrSet:
		return errors.New("read: a raw read needs --slave S and --addr A")
	}
	rf.isRaw = true
	return busdiag.CheckRawRead(rf.slave, rf.fc, rf.addr, rf.count)
}

// request is the read the flags ask for.
func (rf *readFlags) request() api.ReadRequest {
	if rf.isRaw {
		return api.ReadRequest{Bus: rf.bus, Slave: rf.slave, FC: rf.fc, Addr: rf.addr, Count: rf.count}
	}
	return api.ReadRequest{Device: rf.device, Point: rf.point}
}

// daemonRead asks the daemon.
func daemonRead(ctx context.Context, f *diagFlags, req api.ReadRequest) (api.ReadResult, error) {
	socket, err := f.resolveSocket()
	if err != nil {
		return api.ReadResult{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	res, err := api.NewClient(socket).Read(ctx, req)
	if errors.Is(err, context.DeadlineExceeded) {
		return res, failed(fmt.Errorf("the daemon on %s did not answer the read within %s (see its log: journalctl -u fenghuo)", socket, readTimeout))
	}
	return res, busError(socket, err)
}

// readTimeout bounds a read through the daemon: it waits for at most one
// job and one poll in front of it, a few bus timeouts.
const readTimeout = 30 * time.Second

// printRead prints a read as tables or JSON; a failed read is exit 1
// with its error (the exception by name).
func printRead(w io.Writer, asJSON bool, res api.ReadResult) error {
	if asJSON {
		if err := diagview.JSON(w, res); err != nil {
			return err
		}
	} else {
		diagview.Read(w, res)
	}
	if res.Error != "" {
		if ex := res.Exception; ex != nil {
			return failed(fmt.Errorf("slave %d answered exception %02d %s", res.Slave, ex.Code, ex.Name))
		}
		return failed(errors.New(res.Error))
	}
	return nil
}

func newDiagScanCmd(f *diagFlags) *cobra.Command {
	var req api.ScanRequest
	var df directFlags
	c := &cobra.Command{
		Use:   "scan --bus B [--from 1 --to 247]",
		Short: "Find the slave ids that answer on a bus and match each against the shipped profiles",
		Long: `scan asks every slave id from --from to --to whether it answers (one read of
holding register 0: data or a Modbus exception both mean a device is there),
one id at a time between the daemon's polls, and probes each device found with
every profile: the most specific profile whose registers all answer and decode
plausibly is named (see docs/cli.md for the heuristic).

An absent id costs one bus timeout: 1..247 at 300 ms takes about 75 s. Progress
and the time left go to stderr (a bar on a terminal); the table, or with
--json the result, to stdout. Exit codes: 0 a device answered; 1 none did, or
no daemon answers; 2 usage error.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if req.Bus == "" && !df.on {
				return usage(errors.New("scan: --bus B is required"))
			}
			if err := busdiag.CheckScan(req.From, req.To); err != nil {
				return usage(err)
			}
			prog := diagview.NewProgress(c.ErrOrStderr(), req)
			var res api.ScanResult
			var err error
			if df.on {
				res, err = df.lineOf(f, c.ErrOrStderr()).Scan(c.Context(), req, prog.Event)
				err = directError(err)
			} else {
				res, err = daemonScan(c.Context(), f, req, prog.Event)
			}
			prog.End()
			if err != nil {
				return err
			}
			if f.json {
				if err := diagview.JSON(c.OutOrStdout(), res); err != nil {
					return err
				}
			} else {
				diagview.Scan(c.OutOrStdout(), res)
			}
			if len(res.Found) == 0 {
				return failed(fmt.Errorf("no slave id in %d..%d answered on bus %s", res.From, res.To, res.Bus))
			}
			return nil
		},
	}
	c.Flags().StringVar(&req.Bus, "bus", "", "bus name")
	c.Flags().IntVar(&req.From, "from", 1, "first slave id")
	c.Flags().IntVar(&req.To, "to", 247, "last slave id")
	df.register(c)
	return c
}

func daemonScan(ctx context.Context, f *diagFlags, req api.ScanRequest, on func(api.StreamEvent)) (api.ScanResult, error) {
	socket, err := f.resolveSocket()
	if err != nil {
		return api.ScanResult{}, err
	}
	res, err := api.NewClient(socket).Scan(ctx, req, on)
	return res, busError(socket, err)
}

func newDiagTraceCmd(f *diagFlags) *cobra.Command {
	var bus, uplink string
	var seconds float64
	var df directFlags
	c := &cobra.Command{
		Use:   "trace --bus B | --uplink gb26875 [--seconds N]",
		Short: "Show the frames on a bus for N seconds: time, direction, hex, latency, errors",
		Long: `trace shows the frames the daemon's bus owner sends and receives (its polls and
any diag work) for --seconds: time, direction (tx request, rx reply, drop noise
drained from the line), slave, function code, the frame in hex, the reply's
latency and why a reply was rejected (CRC, wrong slave…) or that none came.
On a Modbus TCP bus the frames are the PDUs with the unit id in front.

With --direct there is no daemon polling: the CLI polls the devices the config
puts on the bus itself (--config), once a second, and shows those frames.
With --uplink gb26875 it shows the frames of the daemon's link to the GB/T
26875.3 monitoring centre instead (uplink.gb26875): each frame sent (tx) or
received (rx) in hex, with its decoding — serial, command, addresses, time
label, the application data's type and objects — and why a frame was bad.

--json prints one JSON frame a line. Exit codes: 0 ok; 1 no daemon answers;
2 usage error.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if !(seconds > 0 && seconds <= 3600) { // NaN fails both
				return usage(fmt.Errorf("trace: --seconds %v: want a number of seconds in (0, 3600]", seconds))
			}
			if uplink != "" {
				return runUplinkTrace(c, f, uplink, bus != "" || df.on, seconds)
			}
			if bus == "" && !df.on {
				return usage(errors.New("trace: --bus B is required (or --uplink gb26875 for the monitoring centre)"))
			}
			tw := diagview.NewTrace(c.OutOrStdout(), f.json, localTime)
			d := time.Duration(seconds * float64(time.Second))
			if df.on {
				return directError(df.lineOf(f, c.ErrOrStderr()).Trace(c.Context(), bus, d, tw.Frame))
			}
			socket, err := f.resolveSocket()
			if err != nil {
				return err
			}
			err = api.NewClient(socket).Trace(c.Context(), bus, d, tw.Frame)
			if errors.Is(err, context.Canceled) {
				return nil // Ctrl-C ends a trace early
			}
			return busError(socket, err)
		},
	}
	c.Flags().StringVar(&bus, "bus", "", "bus name")
	c.Flags().StringVar(&uplink, "uplink", "", "trace an uplink's link instead of a bus: gb26875 (the monitoring centre)")
	c.Flags().Float64Var(&seconds, "seconds", 10, "how long to trace")
	df.register(c)
	return c
}

// busError turns a client error into what a maintenance worker acts on:
// a rejected request is a usage error (exit 2); no daemon suggests
// --direct.
func busError(socket string, err error) error {
	if err == nil {
		return nil
	}
	var re *api.RejectedError
	if errors.As(err, &re) {
		return usage(re)
	}
	if errors.Is(err, api.ErrNoDaemon) {
		return failed(fmt.Errorf("no fenghuo daemon on %s: is it running? (systemctl status fenghuo); without a daemon, add --direct to open the bus yourself", socket))
	}
	return failed(api.Explain(socket, err))
}
