package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/gateway/daemon"
)

func newRunCmd() *cobra.Command {
	var path string
	c := &cobra.Command{
		Use:   "run --config FILE",
		Short: "Run the gateway daemon",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if path == "" {
				return usage(errors.New("run: --config FILE is required"))
			}
			if restored, err := daemon.RestoreUnconfirmed(path); err != nil {
				return failed(err)
			} else if restored {
				fmt.Fprintf(c.ErrOrStderr(), "fenghuo: a pushed config was not confirmed before the gateway stopped; %s is restored from %s%s\n", path, path, daemon.PreviousSuffix)
			}
			cfg, profiles, err := loadConfig(path, c.ErrOrStderr(), "; the gateway was not started")
			if err != nil {
				return err
			}
			log := newLogger(c.ErrOrStderr(), cfg.Log.Level, cfg.Log.Format)
			hup := reloadSignals() // SIGHUP re-reads the config (diag_reload.go)
			defer signal.Stop(hup)
			d, err := daemon.New(daemon.Options{Config: cfg, Profiles: profiles, Logger: log, Version: version,
				ConfigPath: path, ReloadSignals: hup})
			if err != nil {
				return failed(err)
			}
			if err := d.Run(c.Context()); err != nil {
				return failed(err)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&path, "config", "c", "", "config file (YAML)")
	return c
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if strings.EqualFold(format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
