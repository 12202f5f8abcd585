// Package busdiag is the bus work of `fenghuo diag read | scan | trace |
// control`: raw and device reads, scans, frame traces and command writes
// on one bus's transport. The daemon runs it as jobs of the bus owner
// (sched.Do through the owner's queue); `--direct` runs it on a line it
// opens itself when no daemon runs ([DirectLine], direct.go). Both go
// through a [Runner] or take the transport the runner hands them.
package busdiag

import (
	"context"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/transport"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/sched"
)

// Runner runs one piece of bus work: through the bus owner's job queue
// (the daemon, sched.Do) or on a transport the CLI opened (Direct).
type Runner func(ctx context.Context, fn sched.JobFunc) error

// TransportConfig is the transport settings of a configured bus.
func TransportConfig(b config.Bus) transport.Config {
	return transport.Config{
		Type: b.Type, Address: b.Address, Port: b.Port, Baud: b.Baud,
		DataBits: b.DataBits, Parity: b.Parity, StopBits: b.StopBits, Timeout: b.Timeout,
		Gap: time.Duration(b.Gap), Echo: transport.Echo(b.Echo),
	}
}

// Open opens a configured bus's transport; its frames go to trace (nil:
// not traced). Every kind of bus traces, Modbus TCP with its MBAP header
// (see FrameConverter).
func Open(b config.Bus, trace func(transport.Frame)) (transport.Transport, error) {
	return transport.OpenWith(TransportConfig(b), transport.Options{Trace: trace})
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
