package daemon

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// startMetrics serves /metrics on local.metrics ("" = off). A failure is
// logged and the gateway runs without it: forwarding alarms comes first.
func (d *Daemon) startMetrics() (stop func()) {
	addr := d.cfg.Local.Metrics
	if addr == "" {
		return func() {}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		d.log.Error("metrics not available; the gateway runs without them", "listen", addr, "err", err)
		return func() {}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.metrics.Registry(), promhttp.HandlerOpts{Registry: d.metrics.Registry()}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	d.mu.Lock()
	d.metricsAddr = ln.Addr().String()
	d.mu.Unlock()
	d.log.Info("metrics listening", "url", "http://"+ln.Addr().String()+"/metrics")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Warn("metrics server", "err", err)
		}
	}
}
