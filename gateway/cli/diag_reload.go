package cli

import (
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/diagview"
)

// newDiagReloadCmd is `fenghuo diag reload`: the daemon re-reads its
// config file, as on SIGHUP.
func newDiagReloadCmd(f *diagFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "reload",
		Short: "Re-read the daemon's config file; kept only if valid (as on SIGHUP)",
		Long: `reload makes the running daemon re-read its config file, as SIGHUP does. A
config with any problem, or with a change that needs a restart (gateway.id,
uplink, buffer, local, log), is refused whole: every problem is printed with
its key path and the running config keeps running. A good one is applied
without a restart: unchanged buses keep polling, changed ones restart, open
tickets are kept (docs/operations.md).

Exit codes: 0 applied (or unchanged); 1 refused, or no daemon answers.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			socket, err := f.resolveSocket()
			if err != nil {
				return err
			}
			res, err := api.NewClient(socket).Reload(c.Context())
			if err != nil {
				return failed(api.Explain(socket, err))
			}
			out := c.OutOrStdout()
			if f.json {
				if err := diagview.JSON(out, res); err != nil {
					return err
				}
			} else if diagview.Reload(out, res) {
				return failed(errors.New("the config was refused; the daemon keeps running the previous one"))
			}
			if !res.OK {
				return failed(errors.New("the config was refused; the daemon keeps running the previous one"))
			}
			return nil
		},
	}
}

// reloadSignals delivers SIGHUP to the daemon (fenghuo run): it re-reads
// its config file. The caller stops it with signal.Stop.
func reloadSignals() chan os.Signal {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	return ch
}
