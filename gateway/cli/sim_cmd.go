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
			out := c.OutOrStdout()
			served := 0
			for _, b := range cfg.Buses {
				sb, err := demo.ServeBus(cfg, b)
				if errors.Is(err, demo.ErrNotSimulated) {
					fmt.Fprintln(out, err)
					continue
				} else if err != nil {
					return failed(err)
				}
				defer sb.Server.Close()
				for _, d := range sb.Devices {
					if writable {
						d.Sim.WriteAll()
					}
					fmt.Fprintf(out, "bus %s: slave %d %s (%s)\n", b.Name, d.Config.Slave, d.Config.ID, d.Config.Profile)
					served++
				}
				fmt.Fprintf(out, "bus %s: %s on %s\n", b.Name, sb.Framing, sb.Addr)
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
