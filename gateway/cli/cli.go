// Package cli holds fenghuo's cobra commands. It stays thin: every command
// parses its flags and calls into gateway/daemon, gateway/config,
// gateway/demo, drivers/sim or uplink/station.
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
	"syscall"

	"github.com/spf13/cobra"
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
func Main(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(stderr, "fenghuo:", ee.err)
		}
		return ee.code
	}
	// Anything cobra itself rejects (unknown command or flag, wrong arity).
	fmt.Fprintln(stderr, "fenghuo:", err)
	fmt.Fprintln(stderr, "Run 'fenghuo --help' for usage.")
	return 2
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "fenghuo",
		Short: "fenghuo (烽火): the fire-safety edge gateway of a community key site",
		Long: `fenghuo polls smoke detectors and smart-electricity sensors over Modbus,
decides locally what is a hazard, buffers every event in SQLite and forwards
hazard tickets (隐患工单) over MQTT to the township platform.`,
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
