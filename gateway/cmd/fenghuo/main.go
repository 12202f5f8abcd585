// Command fenghuo is the fenghuo edge gateway: one binary with subcommands
// (run, demo, config, sim, station, version). See README.md.
package main

import (
	"os"

	"github.com/fenghuo-iot/fenghuo/gateway/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
