package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/gateway/demo"
)

func newDemoCmd() *cobra.Command {
	var verbose bool
	var station string
	c := &cobra.Command{
		Use:   "demo",
		Short: "Play the demo: simulated site, embedded broker, gateway and station watcher in one process",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			res, err := demo.Run(c.Context(), demo.Options{Out: c.OutOrStdout(), Verbose: verbose, Version: version, Station: station})
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
	c.Flags().StringVar(&station, "station", "", "also run station serve with its web console on this address (--station alone: "+demo.DefaultStation+"; another: --station=ADDR); it stays open after the scenario until Ctrl-C")
	c.Flags().Lookup("station").NoOptDefVal = demo.DefaultStation
	return c
}
