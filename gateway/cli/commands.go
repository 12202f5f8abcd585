package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/daemon"
	"github.com/fenghuo-iot/fenghuo/gateway/demo"
)

func newRunCmd() *cobra.Command {
	var path string
	c := &cobra.Command{
		Use:   "run --config FILE",
		Short: "Run the gateway daemon",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if path == "" {
				return usage(errors.New("run: --config FILE is required"))
			}
			cfg, profiles, err := loadConfig(path, c.ErrOrStderr())
			if err != nil {
				return err
			}
			log := newLogger(c.ErrOrStderr(), cfg.Log.Level, cfg.Log.Format)
			d, err := daemon.New(daemon.Options{Config: cfg, Profiles: profiles, Logger: log, Version: version})
			if err != nil {
				return failed(err)
			}
			if err := d.Run(c.Context()); err != nil {
				return failed(err)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&path, "config", "c", "", "config file (YAML)")
	return c
}

// loadConfig loads and validates a config file and its profiles. On
// problems it prints each on its own line and returns an exit-1 error.
func loadConfig(path string, stderr io.Writer) (*config.Config, *profile.Set, error) {
	cfg, err := config.Load(path)
	if err != nil {
		printProblems(stderr, path, err)
		return nil, nil, failed(fmt.Errorf("%s: %d problem(s); nothing was started", path, countProblems(err)))
	}
	profiles, err := profile.Load(cfg.ProfilesDir)
	if err != nil {
		printProblems(stderr, path, err)
		return nil, nil, failed(fmt.Errorf("profiles: %d problem(s)", countProblems(err)))
	}
	return cfg, profiles, nil
}

// printProblems writes one line per joined error.
func printProblems(w io.Writer, path string, err error) {
	for _, e := range flatten(err) {
		fmt.Fprintf(w, "%s: %v\n", path, e)
	}
}

func countProblems(err error) int { return len(flatten(err)) }

// flatten unwraps errors.Join trees into their leaves.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if strings.EqualFold(format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func newDemoCmd() *cobra.Command {
	var verbose bool
	c := &cobra.Command{
		Use:   "demo",
		Short: "Play the demo: simulated site, embedded broker, gateway and station watcher in one process",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			res, err := demo.Run(c.Context(), demo.Options{Out: c.OutOrStdout(), Verbose: verbose, Version: version})
			if err != nil {
				return failed(err)
			}
			if res.Lost != 0 {
				return failed(fmt.Errorf("demo: %d event(s) lost", res.Lost))
			}
			return nil
		},
	}
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "also print the gateway's log")
	return c
}

var _ = os.Stdout
