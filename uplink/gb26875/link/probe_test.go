package link

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875/centre"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// TestProbe: against a real centre the probe connects and has its frame
// (the device version, type 25, from the configured address) confirmed;
// a centre that denies fails the confirm step, a silent one times out,
// and a closed port fails the TCP step. Each step is reported as it ends.
func TestProbe(t *testing.T) {
	good := startCentre(t, "127.0.0.1:0", nil)
	deny := startCentre(t, "127.0.0.1:0", func(gb26875.Frame) centre.Action { return centre.Deny })
	silent := startCentre(t, "127.0.0.1:0", func(gb26875.Frame) centre.Action { return centre.Drop })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	for _, tc := range []struct {
		name, centre, failed, errText string
	}{
		{"confirms", good.addr, "", ""},
		{"denies", deny.addr, "confirm", "denied (6)"},
		{"silent", silent.addr, "confirm", "no confirm within 300ms"},
		{"closed", closed, "tcp", "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var steps []string
			res, err := ProbeSettings(context.Background(), Settings{Centre: tc.centre, Address: uint64(devAddr), CentreAddress: uint64(centreAddr)},
				ProbeOptions{Timeout: 300 * time.Millisecond, OnStep: func(s ProbeStep) { steps = append(steps, s.Step) }})
			if err != nil {
				t.Fatal(err)
			}
			if res.OK != (tc.failed == "") || res.Failed != tc.failed || !strings.Contains(res.LastError(), tc.errText) {
				t.Fatalf("probe %+v, want failed %q with %q", res, tc.failed, tc.errText)
			}
			if len(steps) != len(res.Steps) || steps[0] != "tcp" {
				t.Fatalf("steps reported %v, result %+v", steps, res.Steps)
			}
			if res.OK && (res.RoundTripMS <= 0 || !strings.Contains(res.Steps[1].Detail, "device version 1.0 confirmed")) {
				t.Fatalf("confirmed probe: %+v", res)
			}
		})
	}
	got := good.received(ofType(gb26875.TypeDeviceVersion))
	if len(got) != 1 || got[0].f.Source != devAddr || got[0].f.Dest != centreAddr {
		t.Fatalf("the good centre received %d version frames (%+v), want 1 from the configured address", len(got), got)
	}
	if _, err := ProbeSettings(context.Background(), Settings{Centre: "nohost"}, ProbeOptions{}); err == nil {
		t.Fatal("a centre that is not host:port is accepted")
	}
}

// TestTrace: a trace sees every frame of the link in both directions, in
// order (a send before its confirm), until it is stopped; at most
// MaxTracers run at once.
func TestTrace(t *testing.T) {
	c := startCentre(t, "127.0.0.1:0", nil)
	ob := outbox.NewMemory()
	l := startLink(t, c.addr, ob, nil)
	frames := make(chan TraceFrame, 64)
	stop, ok := l.Trace(func(f TraceFrame) { frames <- f })
	if !ok {
		t.Fatal("no trace")
	}
	var stops []func()
	for range MaxTracers - 1 {
		s, ok := l.Trace(func(TraceFrame) {})
		if !ok {
			t.Fatal("fewer traces than MaxTracers")
		}
		stops = append(stops, s)
	}
	if _, ok := l.Trace(func(TraceFrame) {}); ok {
		t.Fatal("more traces than MaxTracers")
	}
	for _, s := range stops {
		s()
	}
	appendRecs(t, ob, record(t, fireTicket(), outbox.PriorityLevel1))
	l.Notify()
	var got []TraceFrame
	for len(got) < 2 || got[len(got)-1].Dir != TraceRX {
		select {
		case f := <-frames:
			if f.Dir == TraceTX || len(got) > 0 {
				got = append(got, f)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("traced %d frames in 10 s", len(got))
		}
	}
	stop()
	tx, err := gb26875.ParseFrame(got[0].Raw)
	if err != nil {
		t.Fatal(err)
	}
	rx, err := gb26875.ParseFrame(got[len(got)-1].Raw)
	if err != nil {
		t.Fatal(err)
	}
	if rx.Command != gb26875.CmdConfirm || rx.Serial != tx.Serial {
		t.Fatalf("traced %s #%d then %s #%d, want a send and its confirm", tx.Command, tx.Serial, rx.Command, rx.Serial)
	}
	if l.Tracers() != 0 {
		t.Fatalf("%d traces still registered", l.Tracers())
	}
}
