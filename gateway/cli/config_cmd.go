package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/diagview"
)

func newConfigCmd() *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "Validate and print gateway configs", Args: cobra.ArbitraryArgs, RunE: needCommand}
	c.AddCommand(newConfigCheckCmd(), newConfigInitCmd()) // init: config_init.go
	return c
}

func newConfigCheckCmd() *cobra.Command {
	var print bool
	c := &cobra.Command{
		Use:   "check FILE [--print]",
		Short: "Validate a config: every problem at once, each with its key path",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usage(errors.New("config check: exactly one FILE is required"))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			cfg, profiles, err := loadConfig(args[0], c.ErrOrStderr(), "")
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			if print {
				if err := cfg.Print(out); err != nil {
					return failed(err)
				}
				if err := printPlans(out, cfg, profiles); err != nil {
					return failed(err)
				}
			}
			if err := printBudgets(out, cfg); err != nil {
				return failed(err)
			}
			fmt.Fprintln(out, cfg.Summary())
			return nil
		},
	}
	c.Flags().BoolVar(&print, "print", false, "print the resolved config (secrets redacted) and each device's request plan")
	return c
}

// printBudgets prints each RS-485 line's load and, above 80 %, the
// warning with the intervals the line can keep (issue 13, Build 3).
func printBudgets(w io.Writer, cfg *config.Config) error {
	buds, err := cfg.LineBudgets()
	if err != nil {
		return err
	}
	for _, b := range buds {
		for _, l := range b.Report() {
			fmt.Fprintln(w, l)
		}
	}
	return nil
}

// printPlans shows, per device, the Modbus reads its polls make and how
// often each is read.
func printPlans(w io.Writer, cfg *config.Config, profiles *profile.Set) error {
	fmt.Fprintln(w, "# request plan per device (each read with its interval)")
	for _, d := range cfg.Devices {
		p, ok := profiles.Get(d.Profile)
		if !ok {
			return fmt.Errorf("device %q: profile %q not found", d.ID, d.Profile)
		}
		plan, err := profile.Compile(p, d.PlanOptions())
		if err != nil {
			return fmt.Errorf("device %q: %w", d.ID, err)
		}
		n := len(plan.Requests)
		fmt.Fprintf(w, "%s (bus %s, slave %d, profile %s): %d %s\n", d.ID, d.Bus, d.Slave, d.Profile, n, diagview.Plural(n, "request"))
		for i, r := range plan.Requests {
			fmt.Fprintf(w, "  %-12s every %s\n", r, profile.ShortDuration(plan.Interval(i)))
		}
	}
	return nil
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
