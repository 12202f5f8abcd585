package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/drivers/sim"
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
			cfg, profiles, err := loadConfig(path, c.ErrOrStderr(), "; the simulator was not started")
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			served := 0
			for _, b := range cfg.Buses {
				if b.Type != "tcp" && b.Type != "rtu-over-tcp" {
					fmt.Fprintf(out, "bus %s: type %s is not simulated (tcp and rtu-over-tcp only)\n", b.Name, b.Type)
					continue
				}
				srv := sim.NewServer()
				defer srv.Close()
				for _, d := range cfg.Devices {
					if d.Bus != b.Name {
						continue
					}
					p, _ := profiles.Get(d.Profile)
					dev := srv.AddDevice(uint8(d.Slave), p)
					if writable {
						dev.WriteAll()
					}
					fmt.Fprintf(out, "bus %s: slave %d %s (%s)\n", b.Name, d.Slave, d.ID, d.Profile)
					served++
				}
				listen, framing := srv.ListenTCP, "Modbus TCP"
				if b.Type == "rtu-over-tcp" {
					listen, framing = srv.ListenRTUOverTCP, "Modbus RTU over TCP"
				}
				addr, err := listen(b.Address)
				if err != nil {
					return failed(fmt.Errorf("bus %s: %w", b.Name, err))
				}
				fmt.Fprintf(out, "bus %s: %s on %s\n", b.Name, framing, addr)
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
