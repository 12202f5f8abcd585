package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/busdiag"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
)

// directFlags open a bus without a daemon (--direct): the line from
// --port/--address, or the bus of --config (busdiag.DirectLine).
type directFlags struct {
	on   bool
	line busdiag.DirectLine
}

var directOnly = []string{"port", "address", "type", "baud", "parity", "stop-bits", "timeout"}

func (df *directFlags) register(c *cobra.Command) {
	fl, l := c.Flags(), &df.line
	fl.BoolVar(&df.on, "direct", false, "no daemon: open the bus yourself (refused while a daemon holds the port)")
	fl.StringVar(&l.Port, "port", "", "with --direct: serial port of an rtu line, e.g. /dev/ttyUSB0")
	fl.IntVar(&l.Baud, "baud", 9600, "with --direct --port: baud rate")
	fl.StringVar(&l.Parity, "parity", "N", "with --direct --port: parity N, E or O")
	fl.IntVar(&l.StopBits, "stop-bits", 1, "with --direct --port: stop bits 1 or 2")
	fl.StringVar(&l.Address, "address", "", "with --direct: host:port of a Modbus TCP (or --type rtu-over-tcp) bus")
	fl.StringVar(&l.Type, "type", "tcp", "with --direct --address: tcp or rtu-over-tcp")
	fl.DurationVar(&l.Timeout, "timeout", 0, "with --direct: per-request timeout (default: the config's, else "+busdiag.DefaultDirectTimeout.String()+")")
	c.PreRunE = func(c *cobra.Command, _ []string) error {
		for _, name := range directOnly {
			if c.Flags().Changed(name) && !df.on {
				return usage(fmt.Errorf("--%s goes with --direct", name))
			}
		}
		if l.Port != "" && l.Address != "" {
			return usage(errors.New("--direct: give --port (a serial line) or --address (TCP), not both"))
		}
		if l.Timeout < 0 {
			return usage(fmt.Errorf("--timeout %s: want a positive duration", l.Timeout))
		}
		return nil
	}
}

// lineOf is the line of df with the config of f, loaded when the work
// needs it (its problems printed on stderr).
func (df *directFlags) lineOf(f *diagFlags, stderr io.Writer) busdiag.DirectLine {
	l := df.line
	if f.config != "" {
		l.File = f.config
		l.Config = func() (*config.Config, error) {
			cfg, _, err := loadConfig(f.config, stderr, "")
			return cfg, err
		}
	}
	return l
}

// directError is the exit of a --direct error: usage for a rejected
// request, else failed.
func directError(err error) error {
	var ee *exitError
	var re *api.RejectedError
	switch {
	case err == nil, errors.As(err, &ee):
		return err
	case errors.As(err, &re):
		return usage(re)
	}
	return failed(err)
}
