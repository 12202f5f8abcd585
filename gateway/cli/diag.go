package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/diagview"
)

// localTime is where the tables show clock times: the gateway's zone
// (tests pass UTC).
var localTime = time.Local

// diagFlags are the flags every diag subcommand takes.
type diagFlags struct {
	socket, config string
	json           bool
}

// newDiagCmd is `fenghuo diag`: the maintenance crew's view of the
// running daemon, through its local socket (the daemon owns the buses).
func newDiagCmd() *cobra.Command {
	var f diagFlags
	c := &cobra.Command{
		Use:   "diag",
		Short: "Ask the running daemon: status, devices, alarms, queue, history, rules, the bus, the uplink",
		Long: `diag asks the running daemon through its local socket (local.socket; the
daemon owns the buses: a second Modbus master would corrupt the line).
Human tables by default; --json prints the daemon's answer for scripts.

read, scan and trace are bus work done by the daemon's bus owner between
polls; with --direct they open the bus themselves when no daemon runs.
uplink needs no daemon: it checks the configured broker step by step.

The socket is --socket, else local.socket of --config FILE, else
` + config.DefaultSocket + `.

Exit codes: 0 ok; 1 no daemon answers, or (status, devices) a device is
offline or the uplink is down; 2 usage error.`,
		Args: cobra.ArbitraryArgs,
		RunE: needCommand,
	}
	pf := c.PersistentFlags()
	pf.StringVar(&f.socket, "socket", "", "the daemon's local socket (default: local.socket of --config, else "+config.DefaultSocket+")")
	pf.StringVarP(&f.config, "config", "c", "", "config file to take local.socket from")
	pf.BoolVar(&f.json, "json", false, "print the daemon's answer as JSON")
	var limit int
	queue := diagCmd(&f, "queue", "Unsent events in the order they will be sent (level 1 first, then by seq)",
		func(ctx context.Context, cl *api.Client) (any, error) { return cl.Queue(ctx, limit) },
		func(w io.Writer, v any) error { diagview.Queue(w, v.(api.Queue), localTime); return nil })
	queue.Flags().IntVar(&limit, "limit", api.DefaultQueueLimit, "show at most N events")
	c.AddCommand(newDiagReadCmd(&f), newDiagScanCmd(&f), newDiagTraceCmd(&f)) // the bus: diag_bus.go
	c.AddCommand(
		diagCmd(&f, "status", "Uplink, buffer, devices online, uptime and version",
			func(ctx context.Context, cl *api.Client) (any, error) { return cl.Status(ctx) },
			func(w io.Writer, v any) error { return downExit(diagview.Status(w, v.(api.Status), localTime)) }),
		diagCmd(&f, "devices", "Every device: online, last values, success rate, latency, last error",
			func(ctx context.Context, cl *api.Client) (any, error) { return cl.Devices(ctx) },
			func(w io.Writer, v any) error { return downExit(diagview.Devices(w, v.(api.Devices), localTime)) }),
		diagCmd(&f, "alarms", "Open tickets: level, since, device, hazard, acknowledged by",
			func(ctx context.Context, cl *api.Client) (any, error) { return cl.Alarms(ctx) },
			func(w io.Writer, v any) error { diagview.Alarms(w, v.(api.Alarms), localTime); return nil }),
		queue,
		diagCmd(&f, "rules", "The rule engine's explain view: every rule on every device and its phase",
			func(ctx context.Context, cl *api.Client) (any, error) { return cl.Rules(ctx) },
			func(w io.Writer, v any) error { diagview.Rules(w, v.(api.Rules)); return nil }),
		newDiagHistoryCmd(&f), newDiagTestAlarmCmd(&f), newDiagUplinkCmd(&f), // diag_history.go, diag_testalarm.go, diag_uplink.go
		newDiagControlCmd(&f), newDiagReloadCmd(&f), // diag_control.go, diag_reload.go
	)
	return c
}

// diagCmd builds one read-only diag subcommand: fetch asks the daemon,
// render prints the answer as a table (its error sets the exit code).
func diagCmd(f *diagFlags, name, short string, fetch func(context.Context, *api.Client) (any, error), render func(io.Writer, any) error) *cobra.Command {
	return &cobra.Command{
		Use:   name,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			socket, err := f.resolveSocket()
			if err != nil {
				return err
			}
			v, err := fetch(c.Context(), api.NewClient(socket))
			if err != nil {
				return failed(api.Explain(socket, err))
			}
			out := c.OutOrStdout()
			if f.json {
				if err := diagview.JSON(out, v); err != nil {
					return err
				}
				out = io.Discard // the same exit code as the table
			}
			return render(out, v)
		},
	}
}

// resolveSocket is --socket, else local.socket of --config, else the
// default.
func (f *diagFlags) resolveSocket() (string, error) {
	switch {
	case f.socket != "":
		return f.socket, nil
	case f.config == "":
		return config.DefaultSocket, nil
	}
	cfg, err := config.Load(f.config)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == f.config {
			return "", failed(fmt.Errorf("cannot read config %s: %v", f.config, pe.Err))
		}
		return "", failed(fmt.Errorf("%s: %v (fix it with `fenghuo config check %s`, or give --socket)", f.config, firstProblem(err), f.config))
	}
	if cfg.Local.Socket == "" {
		return "", failed(fmt.Errorf("%s: local.socket is empty: the local API is off in this config", f.config))
	}
	return cfg.Local.Socket, nil
}

func firstProblem(err error) error {
	if ps := config.Problems(err); len(ps) > 0 {
		return ps[0]
	}
	return err
}

// downExit turns "something is down" (the uplink, a device) into exit 1
// with no further message: the table already says what.
func downExit(down bool) error {
	if down {
		return failed(errors.New(""))
	}
	return nil
}
