package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/gateway/demo"
)

func newSimCmd() *cobra.Command {
	var path string
	var writable bool
	c := &cobra.Command{
		Use:   "sim --config FILE",
		Short: "Run the device simulator: serve the config's tcp and rtu-over-tcp buses from their profiles",
		Long: `sim serves every device of the config's tcp (and rtu-over-tcp) buses as a
Modbus slave on the bus's address, with the register map of the device's profile and its
default values — a bench for an installer's config before the site is wired.

With --writable every mapped holding register accepts writes from a master, so a
second tool can play the device, e.g. raise a detector's fire-alarm bit:
  mbpoll -m tcp -p PORT -a SLAVE -r 1 -t 4 -1 127.0.0.1 2   (status register 0 := bit1)`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if path == "" {
				return usage(errors.New("sim: --config FILE is required"))
			}
			cfg, _, err := loadConfig(path, c.ErrOrStderr(), "; the simulator was not started")
			if err != nil {
				return err
			}
			buses, stop, err := demo.ServeSite(cfg, writable)
			if err != nil {
				return failed(err)
			}
			defer stop()
			out, served := c.OutOrStdout(), 0
			for _, b := range buses {
				if b.SimBus == nil {
					fmt.Fprintln(out, b.Skipped)
					continue
				}
				for _, d := range b.Devices {
					fmt.Fprintf(out, "bus %s: slave %d %s (%s)\n", b.Name, d.Config.Slave, d.Config.ID, d.Config.Profile)
					served++
				}
				fmt.Fprintf(out, "bus %s: %s on %s\n", b.Name, b.Framing, b.Addr)
			}
			if served == 0 {
				return failed(errors.New("sim: no device on a tcp or rtu-over-tcp bus to simulate"))
			}
			<-c.Context().Done()
			return nil
		},
	}
	c.Flags().StringVarP(&path, "config", "c", "", "config file (YAML)")
	c.Flags().BoolVar(&writable, "writable", false, "accept writes to every mapped holding register (a bench: another master plays the device)")
	return c
}
