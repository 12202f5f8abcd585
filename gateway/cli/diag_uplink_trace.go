package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/diagview"
)

// runUplinkTrace is `diag trace --uplink U`: the frames of the daemon's
// link to the monitoring centre, through the local API, for seconds.
func runUplinkTrace(c *cobra.Command, f *diagFlags, uplink string, withBus bool, seconds float64) error {
	if withBus {
		return usage(errors.New("trace: --uplink and --bus (or --direct) exclude each other"))
	}
	socket, err := f.resolveSocket()
	if err != nil {
		return err
	}
	tw := diagview.NewUplinkTrace(c.OutOrStdout(), f.json, localTime)
	d := time.Duration(seconds * float64(time.Second))
	err = api.NewClient(socket).UplinkTrace(c.Context(), uplink, d, tw.Frame)
	switch {
	case errors.Is(err, context.Canceled):
		return nil // Ctrl-C ends a trace early
	case errors.Is(err, api.ErrNoDaemon):
		return failed(fmt.Errorf("no fenghuo daemon on %s: is it running? (systemctl status fenghuo); the centre link is the daemon's: `fenghuo diag uplink` checks the centre without it", socket))
	}
	return busError(socket, err)
}
