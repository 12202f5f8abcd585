package cli

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/diagview"
	"github.com/fenghuo-iot/fenghuo/gateway/testalarm"
)

// newDiagTestAlarmCmd is `fenghuo diag test-alarm --device D`: a `test`
// ticket end to end through the daemon's outbox and uplink.
func newDiagTestAlarmCmd(f *diagFlags) *cobra.Command {
	var device string
	var wait time.Duration
	c := &cobra.Command{
		Use:   "test-alarm --device D [--wait 30s]",
		Short: "Send a test ticket of a device end to end; show the broker's and the township's acknowledgement",
		Long: `test-alarm asks the daemon to commit a ticket event with state "test" for
device D (its first alarm rule gives hazard and level) and waits for it: when
the broker acknowledged it (PUBACK) and, within --wait, when and by whom the
township acknowledged it. A test ticket is never a real one: the township
sees state "test", it opens nothing in the rule engine and it is sent after
any real level-1 event.

Exit codes: 0 the broker acknowledged it (a township ack is reported, not
required); 1 it was not acknowledged within --wait (the ticket stays queued
and is sent once the uplink is back), the device is unknown, or no daemon
answers; 2 usage error.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if device == "" {
				return usage(errors.New("diag test-alarm: --device D is required (fenghuo diag devices lists them)"))
			}
			if wait <= 0 {
				return usage(fmt.Errorf("diag test-alarm: --wait %s: want a positive duration", wait))
			}
			socket, err := f.resolveSocket()
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			progress := out
			if f.json {
				progress = io.Discard
			}
			on := func(s testalarm.Stage, r testalarm.Result) { diagview.TestAlarm(progress, s, r, wait, localTime) }
			res, err := testalarm.Run(c.Context(), api.NewClient(socket), device, wait, on)
			if f.json && res.Seq != 0 {
				if jerr := diagview.JSON(out, res); jerr != nil {
					return jerr
				}
			}
			if err != nil {
				return failed(api.Explain(socket, err))
			}
			return nil
		},
	}
	c.Flags().StringVar(&device, "device", "", "the device id (as in the config)")
	c.Flags().DurationVar(&wait, "wait", 30*time.Second, "how long to wait for the broker's and the township's acknowledgement")
	return c
}
