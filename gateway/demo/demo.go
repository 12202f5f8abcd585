// Package demo plays fenghuo's main job end to end in one process: a
// simulated site (Modbus TCP slaves serving the shipped profiles), an
// embedded MQTT broker, the real gateway daemon with a SQLite outbox in a
// temporary directory, and the reference station watcher that prints each
// ticket as the township would receive it. A scripted scenario runs in
// under a minute and ends with a summary: raised, delivered, lost.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fenghuo-iot/fenghuo/configs"
	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/daemon"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/station"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// Options configure a demo run.
type Options struct {
	Out     io.Writer // where tickets, steps and the summary go
	Verbose bool      // also print the gateway's log (to Out)
	// OnMessage, when set, sees every raw message the station receives.
	OnMessage func(topic string, payload []byte)
	Version   string
	// GB26875 also runs the reference GB/T 26875.3 monitoring centre
	// in-process as the gateway's second uplink (centre.go), printing
	// what it receives beside the station's tickets.
	GB26875 bool
}

// Result is the demo's summary.
type Result struct {
	Raised     int // events committed to the outbox
	Delivered  int // distinct events the station received
	Lost       int // committed but never received
	Duplicates int // redeliveries the station dropped by event_id
	// TelemetryRaised and TelemetryReceived count fenghuo.telemetry.v1
	// messages, apart from the tickets above (telemetry has no seq and may
	// be evicted first: it is not counted as lost).
	TelemetryRaised, TelemetryReceived int
	TelemetryBytes                     int           // payload bytes of the telemetry raised
	Duration                           time.Duration // wall time of the whole run
	// Latency is, per scenario step, from the register change in the
	// simulator to the ticket's arrival at the station.
	Latency map[string]time.Duration
	// With GB26875: CentreFrames counts the send frames the centre
	// received; CentreBacklog is what the centre's uplink had not
	// delivered at the end (0: everything reached the centre; -1: unknown);
	// CentreLatency is, per step, from the register change to the first
	// component state (type 2) of the step's device the centre received
	// after it.
	CentreFrames  int
	CentreBacklog int
	CentreLatency map[string]time.Duration
}

// site is everything the demo runs.
type site struct {
	out      io.Writer
	onMsg    func(topic string, payload []byte)
	cfg      *config.Config
	sim      *sim.Server
	devs     map[string]*sim.Device
	broker   *Broker
	link     *linkProxy // the gateway's path to the broker
	recv     *collector
	mu       sync.Mutex
	raised   map[string]outbox.Record // tickets, by event id
	telem    struct{ raised, bytes, received int }
	latency  map[string]time.Duration
	since    map[string]stepMark // each step's register change and device (expect)
	stepDone []string
	centre   *centreSide // --gb26875 (centre.go)
}

// Run plays the scenario. It returns an error when a step did not happen
// as expected within its deadline.
func Run(ctx context.Context, opts Options) (Result, error) {
	start := time.Now()
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	// The station, the gateway's log and the script all write to Out.
	opts.Out = &lockedWriter{w: opts.Out}
	s := &site{out: opts.Out, onMsg: opts.OnMessage, raised: map[string]outbox.Record{}, latency: map[string]time.Duration{},
		since: map[string]stepMark{}, recv: newCollector()}
	dir, err := os.MkdirTemp("", "fenghuo-demo-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	if err := s.setup(dir, opts.GB26875); err != nil {
		return Result{}, err
	}
	defer s.stopCentre()
	defer s.sim.Close()
	defer s.broker.Stop()
	defer s.link.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watchDone := s.startStation(ctx)
	logw := io.Discard
	if opts.Verbose {
		logw = opts.Out
	}
	d, err := daemon.New(daemon.Options{
		Config: s.cfg, Profiles: s.cfg.Profiles(), Version: opts.Version,
		Logger:      slog.New(slog.NewTextHandler(logw, nil)),
		OnCommitted: s.committed,
	})
	if err != nil {
		return Result{}, err
	}
	gwCtx, stopGW := context.WithCancel(ctx)
	gwDone := make(chan error, 1)
	go func() { gwDone <- d.Run(gwCtx) }()

	s.banner()
	scriptErr := s.script(ctx)
	// Let the last deliveries land, then stop the gateway and the watcher.
	s.waitDelivered(ctx, 10*time.Second)
	backlog := s.centreEnd(ctx)
	stopGW()
	gwErr := <-gwDone
	cancel()
	<-watchDone

	res := s.result(start)
	s.centreResult(&res, backlog)
	s.summary(res)
	return res, errors.Join(scriptErr, gwErr)
}

// setup starts the simulator and the broker (and with gb the centre,
// centre.go) and points the config at them.
func (s *site) setup(dir string, gb bool) error {
	cfg, err := config.Parse(configs.Demo)
	if err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	s.cfg = cfg
	s.sim = sim.NewServer()
	devs, err := AddDevices(s.sim, cfg, "")
	if err != nil {
		return fmt.Errorf("demo %w", err)
	}
	s.devs = map[string]*sim.Device{}
	for _, d := range devs {
		s.devs[d.Config.ID] = d.Sim
	}
	addr, err := s.sim.ListenTCP("127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	for i := range cfg.Buses {
		cfg.Buses[i].Address = addr
	}
	if s.broker, err = StartBroker("127.0.0.1:0"); err != nil {
		return err
	}
	brokerAddr := strings.TrimPrefix(s.broker.URL(), "tcp://")
	if s.link, err = startProxy(brokerAddr); err != nil {
		return err
	}
	cfg.Uplink.MQTT.Broker = "tcp://" + s.link.Addr()
	cfg.Uplink.MQTT.ConnectSpread = 0 // one gateway, no fleet: the first ticket goes at once
	cfg.Buffer.Path = filepath.Join(dir, "outbox.db")
	cfg.Local.Socket = filepath.Join(dir, "fenghuo.sock")
	if gb {
		return s.startCentre()
	}
	return nil
}

// startStation runs the reference watcher; it prints each ticket to Out.
func (s *site) startStation(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := station.Watch(ctx, station.Options{
			Broker: s.broker.URL(), TopicPrefix: s.cfg.Uplink.MQTT.TopicPrefix,
			Township: s.cfg.Gateway.Site.TownshipCode,
			Out:      s.out, OnTicket: s.recv.add, OnMessage: s.onMsg,
			Telemetry: true, OnTelemetry: s.telemetryReceived,
		})
		if err != nil && ctx.Err() == nil {
			fmt.Fprintf(s.out, "station watcher stopped: %v\n", err)
		}
	}()
	return done
}

// committed is the daemon's OnCommitted hook.
func (s *site) committed(r outbox.Record) {
	s.mu.Lock()
	if r.IsTicket() {
		s.raised[r.EventID] = r
	} else {
		s.telem.raised++
		s.telem.bytes += len(r.Payload)
	}
	s.mu.Unlock()
	s.recv.kick()
}

// telemetryReceived is the station's OnTelemetry hook.
func (s *site) telemetryReceived(ticket.Telemetry) {
	s.mu.Lock()
	s.telem.received++
	s.mu.Unlock()
}

// result counts what was raised, delivered and lost.
func (s *site) result(start time.Time) Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := Result{Raised: len(s.raised), Latency: s.latency, Duration: time.Since(start),
		TelemetryRaised: s.telem.raised, TelemetryReceived: s.telem.received, TelemetryBytes: s.telem.bytes}
	got := s.recv.eventIDs()
	for id := range s.raised {
		if got[id] {
			res.Delivered++
		} else {
			res.Lost++
		}
	}
	res.Duplicates = s.recv.duplicates()
	return res
}

// waitDelivered waits until every committed event reached the station.
func (s *site) waitDelivered(ctx context.Context, max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if r := s.result(time.Now()); r.Lost == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *site) banner() {
	c := s.cfg
	fmt.Fprintf(s.out, "fenghuo demo — %s (%s), gateway %s\n", c.Gateway.Site.Name, c.Gateway.Site.Address, c.Gateway.ID)
	fmt.Fprintf(s.out, "simulated site on %s (%d devices), embedded broker %s, outbox %s\n",
		c.Buses[0].Address, len(c.Devices), s.broker.URL(), c.Buffer.Path)
	if s.centre != nil {
		fmt.Fprintf(s.out, "second uplink: GB/T 26875.3 monitoring centre (reference, in-process) on %s; its lines start with \"119 centre ◀\"\n", s.centre.addr)
	}
	fmt.Fprintf(s.out, "while it runs: fenghuo diag devices --socket %s\n", c.Local.Socket)
	fmt.Fprintln(s.out, "demo rule timings are shortened in configs/demo.yaml so the scenario fits in a minute")
	fmt.Fprintln(s.out)
}

func (s *site) summary(r Result) {
	fmt.Fprintln(s.out)
	fmt.Fprintf(s.out, "summary: raised %d, delivered %d, duplicates %d, lost %d — %.1f s\n",
		r.Raised, r.Delivered, r.Duplicates, r.Lost, r.Duration.Seconds())
	fmt.Fprintf(s.out, "telemetry: %d messages (%d bytes) raised, %d received — counted apart from tickets\n",
		r.TelemetryRaised, r.TelemetryBytes, r.TelemetryReceived)
	for _, step := range s.stepDone {
		if l, ok := r.Latency[step]; ok {
			fmt.Fprintf(s.out, "  %-28s register change → ticket at the station: %4d ms\n", step, l.Milliseconds())
		}
		if l, ok := r.CentreLatency[step]; ok {
			fmt.Fprintf(s.out, "  %-28s register change → frame at the centre:   %4d ms\n", "", l.Milliseconds())
		}
	}
	if s.centre != nil {
		fmt.Fprintf(s.out, "centre: %d frames received; undelivered to the centre at the end: %d\n", r.CentreFrames, r.CentreBacklog)
	}
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
