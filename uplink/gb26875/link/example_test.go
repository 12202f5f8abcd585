package link_test

import (
	"context"
	"log/slog"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/gb26875/link"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// How the daemon wires the link: the config's uplink.gb26875 keys as plain
// values, the gateway's outbox (or this uplink's view of it), and
// callbacks for the clock offset and deliveries. After every Append the
// daemon calls Notify.
func ExampleFromSettings() {
	ob := outbox.NewMemory() // in the daemon: this uplink's view of the outbox
	o, err := link.FromSettings(link.Settings{
		Centre: "10.20.30.40:9000", Address: 330502103001, CentreAddress: 0,
		ConfirmTimeout: 10 * time.Second, Retries: 3, Heartbeat: 30 * time.Second, TimeZone: "+08:00",
		BusZones: map[string]uint16{"rs485-1": 1, "lan": 2}, // config.Config.BusZones()
	}, ob)
	if err != nil {
		panic(err)
	}
	o.Logger = slog.Default()
	o.OnClockOffset = func(d time.Duration) { /* status clock_offset_ms */ }
	l, err := link.New(o)
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // in the daemon: the daemon's context
	_ = l.Run(ctx)
	l.Notify()
}
