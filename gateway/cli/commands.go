package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/daemon"
	"github.com/fenghuo-iot/fenghuo/gateway/memtrim"
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
			if restored, err := config.RestoreUnconfirmed(path); err != nil {
				return failed(err)
			} else if restored {
				fmt.Fprintf(c.ErrOrStderr(), "fenghuo: a pushed config was not confirmed before the gateway stopped; %s is restored from %s%s\n", path, path, config.PreviousSuffix)
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
			ctx, cancel := context.WithCancel(c.Context())
			defer cancel()
			go trimAfterStart(ctx, log)
			if err := d.Run(ctx); err != nil {
				return failed(err)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&path, "config", "c", "", "config file (YAML)")
	return c
}

// trimAfter is how long after the start the daemon releases the pages of
// its binary that only the start used (memtrim): by then every bus has
// polled and the uplink has connected or retried.
const trimAfter = 30 * time.Second

// trimAfterStart releases the start-up pages of the binary once, unless
// FENGHUO_MEMTRIM=0 (docs/operations.md, Footprint).
func trimAfterStart(ctx context.Context, log *slog.Logger) {
	if os.Getenv("FENGHUO_MEMTRIM") == "0" {
		return
	}
	t := time.NewTimer(trimAfter)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return
	case <-t.C:
	}
	res, err := memtrim.Trim()
	if err != nil {
		log.Info("the binary's start-up pages were not released (the daemon runs on; it only keeps more of its binary resident)", "err", err)
		return
	}
	log.Info("released the binary's start-up pages: what runs faults back in", "mappings", res.Mappings, "mib", res.Bytes>>20)
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
