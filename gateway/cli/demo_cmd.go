package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/gateway/demo"
)

func newDemoCmd() *cobra.Command {
	var verbose, gb bool
	c := &cobra.Command{
		Use:   "demo",
		Short: "Play the demo: simulated site, embedded broker, gateway and station watcher in one process",
		Long: `demo plays fenghuo end to end in one process: a simulated site, an embedded
MQTT broker, the gateway and the township's station watcher printing each
ticket. With --gb26875 it also runs the reference GB/T 26875.3 monitoring
centre (the 119 side) on 127.0.0.1 as the gateway's second uplink and prints
each frame the centre receives ("119 centre ◀"), so the same alarm is seen
reaching both. Exit 1 when an event was lost on either uplink.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			res, err := demo.Run(c.Context(), demo.Options{Out: c.OutOrStdout(), Verbose: verbose, Version: version, GB26875: gb})
			switch {
			case err != nil:
				return failed(err)
			case res.Lost != 0:
				return failed(fmt.Errorf("demo: %d event(s) lost", res.Lost))
			case gb && res.CentreBacklog != 0:
				return failed(fmt.Errorf("demo: %d record(s) not delivered to the centre", res.CentreBacklog))
			}
			return nil
		},
	}
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "also print the gateway's log")
	c.Flags().BoolVar(&gb, "gb26875", false, "also run a GB/T 26875.3 monitoring centre as the second uplink")
	return c
}
