// Package uplinks is the daemon's seam to the ways out of the gateway:
// each uplink drains the outbox to its peer (the township's MQTT broker;
// a GB/T 26875.3 monitoring centre, DESIGN §10), runs until
// its context ends, and is woken when records are committed. The daemon
// starts every uplink of the slice alike, wakes them all after each
// commit, and stops them after the rule loop's last commit. Each uplink
// drains its own view of the one outbox guard (a delivery cursor per uplink, DESIGN §6; View), built where the
// daemon builds the uplink. With uplink.gb26875 configured there are two:
// "mqtt" and "gb26875" (GB26875), each with its own R25 verdict.
//
// It also holds the one mapping from the config to the MQTT link's
// connection options, shared by the daemon and `diag uplink`, so that
// the probe connects exactly as the daemon does.
package uplinks

import (
	"context"
	"errors"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
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

// MQTT is the township's MQTT link as an Uplink named "mqtt". View is the
// outbox view it drains (the guard itself with one uplink).
type MQTT struct {
	*mqttlink.Link
	View outbox.Outbox
}

// Name is "mqtt".
func (MQTT) Name() string { return outbox.DefaultUplink }

// Peer is the broker URL without credentials (the current one: a reload
// can move the link).
func (m MQTT) Peer() string { return m.Broker() }

// LastDelivery is the broker's last PUBACK of a record.
func (m MQTT) LastDelivery() time.Time { return m.LastPublish() }

// Outbox is the link's view of the outbox.
func (m MQTT) Outbox() outbox.Outbox { return m.View }

var errNotConfigured = errors.New("uplinks: uplink.gb26875 is not configured")
