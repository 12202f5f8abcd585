package config

import (
	"errors"
	"reflect"
)

// NeedsRestart refuses the changes from c to next that a running gateway
// cannot apply: the gateway id (every ticket id and topic carries it),
// the uplink section (broker, identity, topics, keys, heartbeat,
// telemetry, the second uplink), the outbox (buffer), the local socket
// and metrics listener, and logging. Each is named with its key; a
// restart applies them. Everything else (site, buses, devices, profiles,
// rules) a reload applies live.
func (c *Config) NeedsRestart(next *Config) error {
	var errs []error
	for _, s := range []struct {
		key       string
		was, will any
	}{
		{"gateway.id", c.Gateway.ID, next.Gateway.ID},
		{"uplink", c.Uplink, next.Uplink},
		{"buffer", c.Buffer, next.Buffer},
		{"local", c.Local, next.Local},
		{"log", c.Log, next.Log},
	} {
		if !reflect.DeepEqual(s.was, s.will) {
			errs = append(errs, &FieldError{Path: s.key,
				Msg: "changed, and cannot be applied while the gateway runs; restart the daemon to apply it (systemctl restart fenghuo)"})
		}
	}
	return errors.Join(errs...)
}
