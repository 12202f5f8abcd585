package localapi

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/busdiag"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/engine"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// Store is what the API reads of the outbox store besides the guard: the
// history in pages and the latest acknowledgements, both answered in SQL.
type Store interface {
	outbox.HistoryPager
	outbox.LatestAcker
}

// Link is what the API and the status message read of the MQTT uplink.
type Link interface {
	Broker() string // the current broker URL, without credentials
	Connected() bool
	LastPublish() time.Time
	TransmissionFault() bool
	ClockOffset() (time.Duration, bool)
}

// Options are the parts a Views reads. All but Logger and BusHandlers are
// required.
type Options struct {
	Config  *config.Config
	Version string
	Started time.Time
	Loop    *engine.Loop
	Guard   *outbox.Guard
	Store   Store
	Link    Link
	// Uplinks are every uplink, MQTT first (uplinks.go).
	Uplinks []Uplink
	Logger  *slog.Logger // nil: discard
	// Bus returns the runner of the named bus's owner (control writes go
	// between its polls), or a rejection naming the buses.
	Bus func(name string) (busdiag.Runner, error)
	// BusHandlers answer read, scan and trace (the daemon's bus owners).
	BusHandlers api.BusHandlers
	// Reload re-reads the config file (diag reload) and LastReload is the
	// last attempt, nil before one; ConfigPath is the file (status). All
	// optional.
	Reload     func(ctx context.Context) (api.Reload, error)
	LastReload func() *api.Reload
	ConfigPath string
}

// Views answers the local API from snapshots. Safe for concurrent use.
type Views struct {
	opts Options
	cfg  *config.Config // the config at the start: only what a reload cannot change is read from it
	loop *engine.Loop   // the running config: loop.Config, ConfigHash
	log  *slog.Logger
}

// New returns the views over opts.
func New(opts Options) *Views {
	opts.Logger = cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))
	return &Views{opts: opts, cfg: opts.Config, loop: opts.Loop, log: opts.Logger}
}

// Handlers are the local API's handlers.
func (v *Views) Handlers() api.Handlers {
	return api.Handlers{
		Status:    v.Status,
		Devices:   v.Devices,
		Alarms:    v.Alarms,
		Queue:     v.Queue,
		Rules:     v.Rules,
		History:   v.History,   // history.go
		TestAlarm: v.TestAlarm, // history.go
		Control:   v.Control,   // control.go
		Reload:    v.opts.Reload,
		Bus:       v.opts.BusHandlers,
	}
}

// errNoDevice is the API's answer for an unknown device.
func (v *Views) errNoDevice(device string) error {
	return fmt.Errorf("%w: no device %q in this gateway's config (devices: %s)", api.ErrNotFound, device,
		strings.Join(v.loop.Devices().IDs(), ", "))
}

// lastAcks is the latest township acknowledgement of each of ticketIDs
// (the tickets shown). It never loads the whole acks table: the store
// answers in SQL (outbox.LatestAcker).
func (v *Views) lastAcks(ctx context.Context, ticketIDs []string) map[string]outbox.Ack {
	if len(ticketIDs) == 0 {
		return nil
	}
	acks, err := v.opts.Store.LatestAcks(ctx, ticketIDs...)
	if err != nil {
		v.log.Warn("reading acknowledgements for the local API", "err", err)
		return nil
	}
	return acks
}
