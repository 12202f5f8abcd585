// Package cli holds fenghuo's cobra commands. It stays thin: every command
// parses its flags, calls one function of a lower package (the daemon's
// local API client, gateway/busdiag for --direct and config init,
// gateway/testalarm, gateway/demo, mqttlink.Probe, uplink/station, the
// GB/T 26875.3 centre) and renders the answer with gateway/diagview.
//
// Exit codes (DESIGN.md §2): 0 ok, 1 the thing checked is bad (invalid
// config, device not answering, a run that failed), 2 usage error.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
)

// Set by -ldflags at build time (Makefile).
var (
	version = "dev"
	commit  = "unknown"
	date    = "unknown"
)

// Version returns the build's version string.
func Version() string { return version }

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// failed wraps err as "the thing checked is bad" (exit 1).
func failed(err error) error { return &exitError{code: 1, err: err} }

// usage wraps err as a usage error (exit 2).
func usage(err error) error { return &exitError{code: 2, err: err} }

// Main runs the fenghuo command line and returns the process exit code.
// SIGINT and SIGTERM cancel the running command.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, stdout, stderr)
}

// run is Main with the context given: the commands that block (run, sim,
// station watch) return when ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	code := 2 // anything cobra itself rejects: unknown command or flag, wrong arity
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		err = ee.err
	}
	if err != nil && err.Error() != "" {
		fmt.Fprintln(stderr, "fenghuo:", sanitize.Line(err.Error())) // errors quote the daemon, the broker, a device
	}
	if code == 2 {
		if cmd == nil {
			cmd = root
		}
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

// needCommand is the RunE of a command that only groups subcommands
// (root, config, station): without one, or with an unknown one, it is a
// usage error (exit 2), not a help page and exit 0.
func needCommand(c *cobra.Command, args []string) error {
	if len(args) > 0 {
		if c.SuggestionsMinimumDistance <= 0 {
			c.SuggestionsMinimumDistance = 2 // cobra's default, set only by its own lookup
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
		if s := c.SuggestionsFor(args[0]); len(s) > 0 {
			msg += fmt.Sprintf(" (did you mean %q?)", s[0])
		}
		return usage(errors.New(msg))
	}
	var names []string
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() && sub.Name() != "help" && sub.Name() != "completion" {
			names = append(names, sub.Name())
		}
	}
	what := "a command is required"
	if c.HasParent() {
		what = strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ") + ": " + what
	}
	return usage(fmt.Errorf("%s (%s)", what, strings.Join(names, ", ")))
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "fenghuo",
		Short: "fenghuo (烽火): the fire-safety edge gateway of a community key site",
		Long: `fenghuo polls smoke detectors and smart-electricity sensors over Modbus,
decides locally what is a hazard, buffers every event in SQLite and forwards
hazard tickets (隐患工单) over MQTT to the township platform.`,
		Args:          cobra.ArbitraryArgs,
		RunE:          needCommand,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return err })
	root.AddCommand(
		newRunCmd(),
		newDemoCmd(),
		newConfigCmd(),
		newSimCmd(),
		newStationCmd(),
		newDiagCmd(),
		newVersionCmd(),
	)
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprintf(c.OutOrStdout(), "fenghuo %s (commit %s, built %s)\n", version, commit, date)
			return nil
		},
	}
}
