package demo

import (
	"fmt"
	"io"
	"log/slog"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Broker is an embedded MQTT broker (mochi-mqtt) on loopback, standing in
// for the township's broker. It is for the demo only: anonymous, in-memory
// sessions, no TLS.
type Broker struct {
	mu   sync.Mutex
	addr string
	srv  *mqtt.Server
}

// StartBroker starts a broker on addr ("127.0.0.1:0" picks a free port).
func StartBroker(addr string) (*Broker, error) {
	b := &Broker{addr: addr}
	if err := b.start(); err != nil {
		return nil, err
	}
	return b, nil
}

// URL is the broker's address as an MQTT URL.
func (b *Broker) URL() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return "tcp://" + b.addr
}

// start starts the broker on its address. It is a no-op when running.
func (b *Broker) start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		return nil
	}
	srv := mqtt.New(&mqtt.Options{
		InlineClient: true,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return fmt.Errorf("embedded broker: %w", err)
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "demo", Address: b.addr})
	if err := srv.AddListener(tcp); err != nil {
		return fmt.Errorf("embedded broker on %s: %w", b.addr, err)
	}
	b.addr = tcp.Address()
	if err := srv.Serve(); err != nil { // Serve starts the listeners' goroutines and returns
		return fmt.Errorf("embedded broker: %w", err)
	}
	b.srv = srv
	return nil
}

// Stop closes the broker and every client connection.
func (b *Broker) Stop() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv == nil {
		return nil
	}
	err := b.srv.Close()
	b.srv = nil
	return err
}
