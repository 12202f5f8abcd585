// Package uplinks is the daemon's seam to the ways out of the gateway:
// each uplink drains the outbox to its peer (the township's MQTT broker
// today; a GB/T 26875.3 monitoring centre next, DESIGN §10), runs until
// its context ends, and is woken when records are committed. The daemon
// starts every uplink of the slice alike, wakes them all after each
// commit, and stops them after the rule loop's last commit. Today every
// uplink drains the one outbox guard; a second uplink brings its own view
// of it (a delivery cursor per uplink, DESIGN §6), built where the daemon
// builds the uplink.
//
// It also holds the one mapping from the config to the MQTT link's
// connection options, shared by the daemon and `diag uplink`, so that
// the probe connects exactly as the daemon does.
package uplinks

import (
	"context"

	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
)

// Uplink is one way out of the gateway. Run drains the outbox until ctx
// is done and returns nil or ctx's error on a stop; Notify wakes it after
// a commit and never blocks. Both are safe for concurrent use.
type Uplink interface {
	Name() string
	Run(ctx context.Context) error
	Notify()
}

// MQTTOptions maps the config onto the MQTT link's connection: broker,
// identity and credentials, TLS files, topics, keepalive and heartbeat.
// The caller adds what only a running link needs (outbox, status,
// downlink key and handlers).
func MQTTOptions(cfg *config.Config) mqttlink.Options {
	m := cfg.Uplink.MQTT
	return mqttlink.Options{
		Broker:        m.Broker,
		ClientID:      m.ClientID,
		Username:      m.Username,
		Password:      m.Password.Reveal(),
		CAFile:        m.CAFile,
		CertFile:      m.CertFile,
		KeyFile:       m.KeyFile,
		TopicPrefix:   m.TopicPrefix,
		TownshipCode:  cfg.Gateway.Site.TownshipCode,
		GatewayID:     cfg.Gateway.ID,
		Keepalive:     m.Keepalive,
		ConnectSpread: m.ConnectSpread,
		Heartbeat:     cfg.Uplink.Heartbeat,
	}
}

// MQTT is the township's MQTT link as an Uplink named "mqtt".
type MQTT struct{ *mqttlink.Link }

// Name is "mqtt".
func (MQTT) Name() string { return "mqtt" }
