package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875/centre"
)

func newStationCentreCmd() *cobra.Command {
	var listen, address string
	var o centre.Options
	c := &cobra.Command{
		Use:   "centre --listen ADDR [--json] [--address N]",
		Short: "A minimal GB/T 26875.3 monitoring-centre receiver: print each frame, confirm every send",
		Long: `A minimal GB/T 26875.3-2011 monitoring-centre receiver for tests and installers.
It accepts TCP connections, prints one line per decoded frame (--json: one JSON
object per line), confirms (3) every send-data (2) frame with its serial number
echoed, denies (6) a frame with a bad checksum, an unknown command, over-length
data or a wrong start or end, and answers nothing else. It keeps nothing.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if listen == "" {
				return usage(errors.New("station centre: --listen ADDR is required, e.g. --listen :9000"))
			}
			if c.Flags().Changed("address") {
				n, err := strconv.ParseUint(address, 0, 64)
				if err != nil || gb26875.Address(n) > gb26875.MaxAddress {
					return usage(fmt.Errorf("station centre: --address %q: want a number up to 6 bytes (decimal or 0x hex)", address))
				}
				o.Address, o.UseAddress = gb26875.Address(n), true
			}
			o.Out = c.OutOrStdout()
			ready := func(a net.Addr) {
				fmt.Fprintf(c.ErrOrStderr(), "station centre: GB/T 26875.3-2011 receiver listening on %s\n", a)
			}
			err := centre.ListenAndServe(c.Context(), listen, o, ready)
			if err != nil && !errors.Is(err, context.Canceled) {
				return failed(err)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&listen, "listen", "", "TCP address to listen on, e.g. :9000 or 127.0.0.1:9000")
	f.BoolVar(&o.JSON, "json", false, "print each frame as one JSON line")
	f.StringVar(&address, "address", "", "the centre's own address, the source of its answers (default: the destination the device wrote)")
	f.IntVar(&o.MaxConns, "max-conns", centre.DefaultMaxConns, "connections served at once; more are closed at once")
	f.DurationVar(&o.Idle, "idle", centre.DefaultIdle, "close a connection silent this long")
	return c
}
