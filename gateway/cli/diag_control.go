package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/user"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/busdiag"
	"github.com/fenghuo-iot/fenghuo/gateway/daemon"
)

// newDiagControlCmd is `fenghuo diag control --device D reset|mute|self-test`.
func newDiagControlCmd(f *diagFlags) *cobra.Command {
	var device, by string
	var df directFlags
	c := &cobra.Command{
		Use:   "control --device D (reset|mute|self-test) [--by NAME]",
		Short: "Write a device's command register (reset, mute, self-test); recorded as an operation",
		Long: `control writes the command register the device's profile names for the action
(profile key commands:) through the daemon's bus owner, between polls (never
a second master on the line), and records the operation — who, when, which
register, how the device answered — in the outbox as an operation record
(state "operation") that reaches the platform in seq like a ticket. A device
whose profile has no such command is refused, naming the actions it has.
With --direct --config FILE (no daemon running) it opens the bus itself and
records the operation in the config's outbox, sent when the daemon starts.

Exit codes: 0 the device took the write; 1 it did not, or no daemon answers;
2 usage error (unknown device or action).`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 || !slices.Contains(profile.Actions, args[0]) {
				return usage(fmt.Errorf("diag control: exactly one action is required: %s", strings.Join(profile.Actions, ", ")))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if device == "" {
				return usage(errors.New("diag control: --device D is required (fenghuo diag devices lists them)"))
			}
			req := api.ControlRequest{Device: device, Action: args[0], By: operator(by)}
			var res api.Control
			var err error
			if df.on {
				res, err = df.control(c.Context(), f, req, c.ErrOrStderr())
			} else {
				res, err = daemonControl(c.Context(), f, req)
			}
			if err != nil {
				return err
			}
			return renderControl(c.OutOrStdout(), f.json, res)
		},
	}
	c.Flags().StringVar(&device, "device", "", "the device id (as in the config)")
	c.Flags().StringVar(&by, "by", "", "who asks, recorded with the operation (default: the login name)")
	df.register(c)
	return c
}

// operator is --by, else the login name, else "".
func operator(by string) string {
	if by != "" {
		return by
	}
	if u, err := user.Current(); err == nil {
		return "local:" + u.Username
	}
	return ""
}

func daemonControl(ctx context.Context, f *diagFlags, req api.ControlRequest) (api.Control, error) {
	socket, err := f.resolveSocket()
	if err != nil {
		return api.Control{}, err
	}
	res, err := api.NewClient(socket).Control(ctx, req)
	if err != nil {
		if errors.Is(err, api.ErrNoDaemon) || !strings.Contains(err.Error(), "daemon on") {
			return res, failed(explainDial(socket, err))
		}
		if strings.Contains(err.Error(), "has no") || strings.Contains(err.Error(), "no device") {
			return res, usage(err)
		}
		return res, failed(err)
	}
	return res, nil
}

// control is --direct: the bus of the device in --config, opened here.
func (df *directFlags) control(ctx context.Context, f *diagFlags, req api.ControlRequest, stderr io.Writer) (api.Control, error) {
	cfg, err := directConfig(f, stderr, "--device")
	if err != nil {
		return api.Control{}, err
	}
	dev, p, b, err := findDevice(cfg, req.Device, f.config)
	if err != nil {
		return api.Control{}, err
	}
	if err := busdiag.CheckControl(dev, p, req.Action); err != nil {
		return api.Control{}, usage(err)
	}
	if df.timeout > 0 {
		b.Timeout = df.timeout
	}
	line, run, err := df.open(b, nil)
	if err != nil {
		return api.Control{}, err
	}
	defer line.Close()
	res, err := busdiag.WriteCommand(ctx, run, dev, p, req.Action)
	if err != nil {
		return res, failed(err)
	}
	if rerr := daemon.RecordOperation(ctx, cfg, res, req.By); rerr != nil {
		res.RecordError = rerr.Error()
	}
	return res, nil
}

func renderControl(w io.Writer, asJSON bool, res api.Control) error {
	if asJSON {
		if err := printJSON(w, res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(w, "%s %s: wrote %v to %s (register %d): %s", res.Device, res.Action, res.Value, res.Point, res.Address, res.Result)
		if res.Error != "" {
			fmt.Fprintf(w, " (%s)", res.Error)
		}
		fmt.Fprintln(w)
		switch {
		case res.RecordError != "":
			fmt.Fprintf(w, "the operation was NOT recorded in the outbox: %s\n", res.RecordError)
		case res.Seq != 0:
			fmt.Fprintf(w, "recorded as operation %s (seq %d)\n", res.TicketID, res.Seq)
		default:
			fmt.Fprintln(w, "recorded in the outbox (sent when the daemon runs)")
		}
	}
	if res.Result != "ok" {
		return failed(fmt.Errorf("%s did not take the %s command: %s", res.Device, res.Action, res.Error))
	}
	return nil
}
