package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875/centre"
)

// demoAddress is the demo gateway's GB/T 26875.3 device address (the
// township code and a site number; a real centre assigns it).
const demoAddress = 330502103001

// centreSide is the reference monitoring centre the demo runs in-process
// (`--gb26875`): the gateway's second uplink. It prints every frame it
// receives beside the station's tickets and remembers when each
// component state (type 2) arrived.
type centreSide struct {
	addr   string
	cancel context.CancelFunc
	done   chan error

	mu     sync.Mutex
	frames int       // send frames received
	states []arrival // component states (type 2)
}

// stepMark is a scenario step's register change and its device's name
// (the description of its component at the centre).
type stepMark struct {
	at     time.Time
	device string
}

// arrival is a component state the centre received: when, and whose.
type arrival struct {
	at   time.Time
	desc string
}

// startCentre serves the centre on 127.0.0.1:0 and points the config's
// uplink.gb26875 at it.
func (s *site) startCentre() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo centre: %w", err)
	}
	c := &centreSide{addr: ln.Addr().String(), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	srv := centre.New(centre.Options{Out: &prefixWriter{w: s.out, prefix: "  119 centre ◀ "}, OnFrame: c.onFrame})
	go func() { c.done <- srv.Serve(ctx, ln) }()
	s.centre = c
	s.cfg.Uplink.GB26875 = &config.GB26875{
		Centre: c.addr, Address: demoAddress, ConfirmTimeout: config.DefaultGBConfirmTimeout,
		Retries: config.DefaultGBRetries, Heartbeat: config.DefaultGBHeartbeat, TimeZone: config.DefaultGBTimeZone,
	}
	return nil
}

func (c *centreSide) onFrame(f gb26875.Frame, _ centre.Action) {
	if f.Command != gb26875.CmdSend {
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frames++
	app, err := gb26875.DecodeAppData(f.Data)
	if err != nil || app.Type != gb26875.TypeComponentState {
		return
	}
	for _, o := range app.Objects {
		if st, ok := o.(gb26875.ComponentState); ok {
			c.states = append(c.states, arrival{at: now, desc: st.Description})
		}
	}
}

// firstStateAfter is when the centre first received a component state of
// the device named desc (its description) at or after t.
func (c *centreSide) firstStateAfter(t time.Time, desc string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.states {
		if !a.at.Before(t) && a.desc == desc {
			return a.at, true
		}
	}
	return time.Time{}, false
}

// stopCentre closes the centre, if the demo runs one.
func (s *site) stopCentre() {
	if s.centre == nil {
		return
	}
	s.centre.cancel()
	if err := <-s.centre.done; err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(s.out, "centre stopped: %v\n", err)
	}
}

// centreBacklog asks the daemon's local API how many records the centre's
// uplink has not delivered; it waits up to max for 0.
func (s *site) centreBacklog(ctx context.Context, max time.Duration) int {
	client := api.NewClient(s.cfg.Local.Socket)
	deadline := time.Now().Add(max)
	depth := -1
	for ctx.Err() == nil {
		if st, err := client.Status(ctx); err == nil {
			for _, u := range st.Uplinks {
				if u.Name == "gb26875" {
					depth = u.Depth
				}
			}
		}
		if depth == 0 || time.Now().After(deadline) {
			return depth
		}
		time.Sleep(100 * time.Millisecond)
	}
	return depth
}

// prefixWriter prefixes every line written to w.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	var out bytes.Buffer
	for line := range bytes.Lines(b) {
		out.WriteString(p.prefix)
		out.Write(line)
	}
	if _, err := p.w.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}

// centreEnd waits (up to 15 s) for the centre's uplink to deliver
// everything; -1 without a centre.
func (s *site) centreEnd(ctx context.Context) int {
	if s.centre == nil {
		return -1
	}
	return s.centreBacklog(ctx, 15*time.Second)
}

// centreResult fills the centre's part of the result.
func (s *site) centreResult(res *Result, backlog int) {
	res.CentreBacklog = backlog
	if s.centre == nil {
		return
	}
	s.centre.mu.Lock()
	res.CentreFrames = s.centre.frames
	s.centre.mu.Unlock()
	res.CentreLatency = map[string]time.Duration{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for step, m := range s.since {
		if at, ok := s.centre.firstStateAfter(m.at, m.device); ok {
			res.CentreLatency[step] = at.Sub(m.at)
		}
	}
}
