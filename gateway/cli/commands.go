package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/daemon"
	"github.com/fenghuo-iot/fenghuo/gateway/demo"
	"github.com/fenghuo-iot/fenghuo/gateway/diagview"
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
			cfg, profiles, err := loadConfig(path, c.ErrOrStderr(), "; the gateway was not started")
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
// problems it prints each on its own line ("FILE: key.path: message") on
// stderr and returns an exit-1 error that counts them; after is appended
// to that count (e.g. "; the gateway was not started").
func loadConfig(path string, stderr io.Writer, after string) (*config.Config, *profile.Set, error) {
	cfg, err := config.Load(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == path {
			// The file itself cannot be read: one message, without the
			// path twice ("x.yaml: open x.yaml: no such file ...").
			return nil, nil, failed(fmt.Errorf("cannot read config %s: %v%s", path, pe.Err, after))
		}
		printProblems(stderr, path, err)
		n := countProblems(err)
		return nil, nil, failed(fmt.Errorf("%s: %d %s%s", path, n, diagview.Plural(n, "problem"), after))
	}
	return cfg, cfg.Profiles(), nil
}

// printProblems writes one line per joined error.
func printProblems(w io.Writer, path string, err error) {
	for _, e := range config.Problems(err) {
		fmt.Fprintf(w, "%s: %v\n", path, e)
	}
}

func countProblems(err error) int { return len(config.Problems(err)) }

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
