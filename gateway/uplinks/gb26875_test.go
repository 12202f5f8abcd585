package uplinks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875/centre"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875/link"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/outboxtest"
)

func gbConfig(t *testing.T, centreAddr string) *config.Config {
	t.Helper()
	cfg, err := config.Parse(fmt.Appendf(nil, `
gateway:
  id: gw-330502103-test-01
  site: {name: 云村文化礼堂, township: 织里镇, township_code: "330502103", community: 云村, address: 湖州市吴兴区织里镇云村}
buses: [{name: lan, type: tcp, address: "127.0.0.1:1"}, {name: rs485-2, type: tcp, address: "127.0.0.1:2"}]
devices: [{id: smoke-1, name: 烟感, bus: lan, slave: 1, profile: smoke-detector}]
uplink:
  mqtt: {broker: "tcp://127.0.0.1:1883"}
  gb26875: {centre: %q, address: 330502103001, centre_address: 7, confirm_timeout: 2s, retries: 2, heartbeat: 20s, time_zone: "+07:00"}
`, centreAddr))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestGB26875Settings: every key of uplink.gb26875 reaches the link, the
// zones are the buses' positions; no section, no settings.
func TestGB26875Settings(t *testing.T) {
	cfg := gbConfig(t, "10.20.30.40:9000")
	s := GB26875Settings(cfg)
	if s == nil || s.Centre != "10.20.30.40:9000" || s.Address != 330502103001 || s.CentreAddress != 7 || s.ConfirmTimeout != 2*time.Second ||
		s.Retries != 2 || s.Heartbeat != 20*time.Second || s.TimeZone != "+07:00" || s.BusZones["lan"] != 1 || s.BusZones["rs485-2"] != 2 {
		t.Fatalf("settings %+v", s)
	}
	cfg.Uplink.GB26875 = nil
	if GB26875Settings(cfg) != nil {
		t.Fatal("settings without the section")
	}
	if _, err := NewGB26875(cfg, outbox.NewMemory(), GB26875Options{}); err == nil {
		t.Fatal("a centre link built without the section")
	}
	if !slices.Equal(Names(true), []string{"mqtt", "gb26875"}) || !slices.Equal(Names(false), []string{"mqtt"}) {
		t.Fatal("outbox uplink names")
	}
}

// TestGB26875TransmissionFault: with the centre unreachable, R25 of the
// centre link is raised once a ticket waited FaultAfter; it clears when the
// centre answers and the backlog is gone. Name, peer and connection state
// are the link's.
func TestGB26875TransmissionFault(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the centre is down at first
	view := outbox.NewMemory()
	outboxtest.MustAppend(t, view, outboxtest.Ticket(1, 1))
	g, err := NewGB26875(gbConfig(t, addr), view, GB26875Options{FaultAfter: 200 * time.Millisecond, Tune: func(o *link.Options) {
		o.MinBackoff, o.MaxBackoff = 20*time.Millisecond, 50*time.Millisecond
	}})
	if err != nil {
		t.Fatal(err)
	}
	if g.Name() != "gb26875" || g.Peer() != addr || g.Outbox() != view {
		t.Fatalf("name %q peer %q", g.Name(), g.Peer())
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = g.Run(ctx) })
	defer wg.Wait()
	defer cancel()
	eventually(t, "R25 raised on the centre link", g.TransmissionFault)
	if g.Connected() || g.TransmissionFaults() != 1 {
		t.Fatalf("connected %v, onsets %d", g.Connected(), g.TransmissionFaults())
	}

	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- centre.New(centre.Options{Out: io.Discard}).Serve(cctx, ln) }()
	defer func() {
		ccancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Error(err)
		}
	}()
	eventually(t, "R25 cleared once the centre answers", func() bool { return !g.TransmissionFault() && g.Connected() })
	if st, err := view.Stats(context.Background()); err != nil || st.Depth != 0 {
		t.Fatalf("backlog %+v %v", st, err)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, bounded by the deadline
	}
}
