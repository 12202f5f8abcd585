package demo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/station/serve"
)

// DefaultStation is the console's address of `fenghuo demo --station`.
const DefaultStation = "127.0.0.1:8080"

// demoUser is the one-time account of a demo run with the console.
const demoUser = "demo"

// console is `station serve` run by the demo against its embedded broker,
// with its web console; the zero value (no --station) does nothing.
type console struct {
	ctx  context.Context // the run's outer context: the console outlives the scenario
	out  func(format string, args ...any)
	url  string
	stop func()
}

// startConsole starts station serve on addr with a SQLite file in dir and
// a one-time account, and waits until it has subscribed, so that it stores
// every ticket of the scenario. An empty addr starts nothing.
func (s *site) startConsole(ctx context.Context, addr, dir string) (*console, error) {
	c := &console{ctx: ctx, out: func(f string, a ...any) { fmt.Fprintf(s.out, f, a...) }, stop: func() {}}
	if addr == "" {
		return c, nil
	}
	db := filepath.Join(dir, "station.db")
	password := oneTimePassword()
	if err := serve.AddUser(ctx, db, demoUser, password); err != nil {
		return nil, fmt.Errorf("demo --station: %w", err)
	}
	ready := make(chan string, 1)
	o := serve.Options{Broker: s.broker.URL(), TopicPrefix: s.cfg.Uplink.MQTT.TopicPrefix,
		Township: s.cfg.Gateway.Site.TownshipCode, ClientID: "fenghuo-demo-station", DB: db, Listen: addr,
		Ready: func(apiAddr string) { ready <- apiAddr }}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- serve.Run(sctx, o) }()
	select {
	case a := <-ready:
		c.url = "http://" + a + "/"
	case err := <-done:
		cancel()
		return nil, fmt.Errorf("demo --station=%s: %w (another address: --station=127.0.0.1:PORT)", addr, err)
	case <-time.After(20 * time.Second):
		cancel()
		return nil, errors.Join(errors.New("demo --station: station serve not ready within 20 s"), <-done)
	}
	c.stop = func() {
		cancel()
		if err := <-done; err != nil {
			c.out("station serve: %v\n", err)
		}
	}
	c.out("station console: %s — sign in as %s / %s (a one-time account of this run)\n", c.url, demoUser, password)
	c.out("open it now: the tickets below arrive there live (待处置 → 受理 → 已处置 → 已复核)\n\n")
	return c, nil
}

// hold keeps the console open after the scenario until the run is
// interrupted (Ctrl-C).
func (c *console) hold() {
	if c.url == "" {
		return
	}
	c.out("\nthe station console stays open at %s — Ctrl-C to stop\n", c.url)
	<-c.ctx.Done()
}

// oneTimePassword is 16 random base32 characters (80 bits).
func oneTimePassword() string {
	return rand.Text()[:16]
}
