package daemon

import (
	"errors"
	"fmt"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
)

// startAPI serves the local API on local.socket ("" = off). A socket that
// another process answers on is an error (a second daemon would be a
// second master on the buses); any other failure is logged and the
// gateway runs without the API, because forwarding alarms comes first.
func (d *Daemon) startAPI() (stop func(), err error) {
	path := d.cfg.Local.Socket
	if path == "" {
		return func() {}, nil
	}
	if err := d.refuseSecond(); err != nil {
		return nil, err
	}
	h := d.views.Handlers()
	h.UplinkTrace = d.traceUplink // uplink_trace.go
	srv, err := api.Listen(path, h)
	if errors.Is(err, api.ErrInUse) {
		return nil, errSecondDaemon(path)
	}
	if err != nil {
		d.log.Error("local API not available; the gateway runs without it", "socket", path, "err", err)
		return func() {}, nil
	}
	d.log.Info("local API listening", "socket", path)
	return func() {
		if err := srv.Close(); err != nil {
			d.log.Warn("local API close", "err", err)
		}
	}, nil
}

// refuseSecond fails when a daemon already answers on local.socket: New
// calls it before opening the outbox, Run again when it takes the socket.
func (d *Daemon) refuseSecond() error {
	if p := d.cfg.Local.Socket; p != "" && api.Answers(p) {
		return errSecondDaemon(p)
	}
	return nil
}

func errSecondDaemon(path string) error {
	return fmt.Errorf("local.socket %s: another fenghuo daemon answers on it; not starting a second one (it would be a second master on the buses)", path)
}
