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
			cfg, _, err := loadConfig(args[0], c.ErrOrStderr(), "")
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			if print {
				if err := cfg.Print(out); err != nil {
					return failed(err)
				}
				if err := cfg.PrintPlans(out); err != nil {
					return failed(err)
				}
			}
			if err := cfg.PrintBudgets(out); err != nil {
				return failed(err)
			}
			fmt.Fprintln(out, cfg.Summary())
			return nil
		},
	}
	c.Flags().BoolVar(&print, "print", false, "print the resolved config (secrets redacted) and each device's request plan")
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
