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
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/daemon"
	"github.com/fenghuo-iot/fenghuo/gateway/diagview"
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
				record := func(cfg *config.Config, res api.Control) error {
					return daemon.RecordOperation(c.Context(), cfg, res, req.By)
				}
				res, err = df.lineOf(f, c.ErrOrStderr()).Control(c.Context(), req, record)
				err = directError(err)
			} else {
				res, err = daemonControl(c.Context(), f, req)
			}
			if err != nil {
				return err
			}
			return printControl(c.OutOrStdout(), f.json, res)
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
			return res, failed(api.Explain(socket, err))
		}
		if strings.Contains(err.Error(), "has no") || strings.Contains(err.Error(), "no device") {
			return res, usage(err)
		}
		return res, failed(err)
	}
	return res, nil
}

// printControl prints the outcome; a device that did not take the write
// is exit 1.
func printControl(w io.Writer, asJSON bool, res api.Control) error {
	if asJSON {
		if err := diagview.JSON(w, res); err != nil {
			return err
		}
	} else {
		diagview.Control(w, res)
	}
	if res.Result != "ok" {
		return failed(fmt.Errorf("%s did not take the %s command: %s", res.Device, res.Action, res.Error))
	}
	return nil
}
