package uplinks

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875/link"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// GB26875Name is the GB/T 26875.3 uplink's name: its outbox cursor, its
// `uplink` metric label and its entry in `diag status` and `diag queue`.
const GB26875Name = "gb26875"

// DefaultFaultAfter is R25's threshold on the centre link, as on the MQTT
// link: a ticket waited this long unconfirmed and no ticket was confirmed
// for as long (EN 54-21 5.3 b: 100 s).
const DefaultFaultAfter = 100 * time.Second

// GB26875Settings maps uplink.gb26875 onto the link's settings (nil when
// the section is not configured).
func GB26875Settings(cfg *config.Config) *link.Settings {
	g := cfg.Uplink.GB26875
	if g == nil {
		return nil
	}
	return &link.Settings{
		Centre: g.Centre, Address: uint64(g.Address), CentreAddress: uint64(g.CentreAddress),
		ConfirmTimeout: g.ConfirmTimeout, Retries: g.Retries, Heartbeat: g.Heartbeat, TimeZone: g.TimeZone,
		BusZones: cfg.BusZones(),
	}
}

// GB26875Options configure NewGB26875. All are optional.
type GB26875Options struct {
	Logger     *slog.Logger
	FaultAfter time.Duration // R25 threshold; default DefaultFaultAfter
	// Tune, when set, adjusts the link's options before it is built
	// (tests: short timeouts and backoff).
	Tune func(*link.Options)
}

// GB26875 is the link to the city's remote fire monitoring centre as an
// Uplink named "gb26875", draining its own view of the outbox. It also
// keeps R25's verdict for this link (CheckFault), as the MQTT link does
// for its own.
type GB26875 struct {
	*link.Link
	view       outbox.Outbox
	centre     string
	faultAfter time.Duration
	log        *slog.Logger

	mu      sync.Mutex
	started time.Time
	fault   atomic.Bool
	faults  atomic.Uint64
}

// NewGB26875 builds the centre link of cfg (uplink.gb26875 must be set)
// over view, the uplink's view of the outbox.
func NewGB26875(cfg *config.Config, view outbox.Outbox, o GB26875Options) (*GB26875, error) {
	s := GB26875Settings(cfg)
	if s == nil {
		return nil, errNotConfigured
	}
	lo, err := link.FromSettings(*s, view)
	if err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.FaultAfter <= 0 {
		o.FaultAfter = DefaultFaultAfter
	}
	lo.Logger = o.Logger
	if o.Tune != nil {
		o.Tune(&lo)
	}
	l, err := link.New(lo)
	if err != nil {
		return nil, err
	}
	return &GB26875{Link: l, view: view, centre: s.Centre, faultAfter: o.FaultAfter, log: o.Logger, started: time.Now()}, nil
}

// Name is "gb26875".
func (*GB26875) Name() string { return GB26875Name }

// Run runs the link and R25's check until ctx is done.
func (g *GB26875) Run(ctx context.Context) error {
	g.mu.Lock()
	g.started = time.Now()
	g.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { g.watch(ctx) })
	defer wg.Wait()
	return g.Link.Run(ctx)
}

// Peer is the centre's host:port.
func (g *GB26875) Peer() string { return g.centre }

// Connected reports whether the link has a TCP connection to the centre.
func (g *GB26875) Connected() bool { return g.Stats().Connected }

// LastDelivery is when the centre last confirmed a record (zero before).
func (g *GB26875) LastDelivery() time.Time { return g.Stats().LastDelivered }

// ClockOffset is the centre's clock minus the gateway's at its last clock
// sync (90); ok is false before the first.
func (g *GB26875) ClockOffset() (time.Duration, bool) {
	st := g.Stats()
	return st.ClockOffset, st.ClockKnown
}

// Outbox is the link's view of the outbox.
func (g *GB26875) Outbox() outbox.Outbox { return g.view }

// TransmissionFault reports whether R25 is raised on this link.
func (g *GB26875) TransmissionFault() bool { return g.fault.Load() }

// TransmissionFaults counts R25 onsets on this link.
func (g *GB26875) TransmissionFaults() uint64 { return g.faults.Load() }

// watch evaluates R25 periodically until ctx is done.
func (g *GB26875) watch(ctx context.Context) {
	t := time.NewTicker(min(max(g.faultAfter/20, 20*time.Millisecond), 5*time.Second))
	defer t.Stop()
	for {
		g.CheckFault(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CheckFault evaluates R25 on the centre link now, as the MQTT link does
// on its own: raised when this uplink's oldest undelivered ticket has
// waited ≥ FaultAfter and the centre confirmed no record for as long.
func (g *GB26875) CheckFault(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := g.view.Stats(ctx)
	if err != nil {
		return g.fault.Load()
	}
	now := time.Now()
	g.mu.Lock()
	last := g.started
	g.mu.Unlock()
	if d := g.LastDelivery(); d.After(last) {
		last = d
	}
	waited := time.Duration(0)
	if !st.OldestUnsentTicket.IsZero() {
		waited = now.Sub(st.OldestUnsentTicket)
	}
	raise := waited >= g.faultAfter && now.Sub(last) >= g.faultAfter
	switch was := g.fault.Swap(raise); {
	case raise && !was:
		g.faults.Add(1)
		g.log.Error("gb26875: TRANSMISSION FAULT (R25): a ticket has waited without the centre's confirm", "waited", waited.Round(time.Second),
			"threshold", g.faultAfter, "backlog", st.Depth, "centre", g.centre, "connected", g.Connected())
	case !raise && was:
		g.log.Info("gb26875: transmission fault cleared: the centre confirms again", "backlog", st.Depth)
	}
	return raise
}
