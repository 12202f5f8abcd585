// Package busdiag is the bus work of `fenghuo diag read | scan | trace |
// control`: raw and device reads, scans, frame traces and command writes
// on one bus's transport. The daemon runs it as jobs of the bus owner
// (sched.Do through the owner's queue); `--direct` runs it on a transport
// the CLI opened itself (Direct). Both go through a [Runner] or take the
// transport the runner hands them.
package busdiag

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/transport"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/sched"
)

// Runner runs one piece of bus work: through the bus owner's job queue
// (the daemon, sched.Do) or on a transport the CLI opened (Direct).
type Runner func(ctx context.Context, fn sched.JobFunc) error

// Direct is the Runner of --direct: the work runs at once on tr.
func Direct(tr transport.Transport) Runner {
	return func(ctx context.Context, fn sched.JobFunc) error { return fn(ctx, tr) }
}

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

// ErrPortLocked is OpenDirect's error (errors.Is) for a serial port
// another master (a running daemon) holds.
var ErrPortLocked = transport.ErrPortLocked

// PortError is OpenDirect's error for a serial port that cannot be opened.
type PortError struct {
	Port string
	Err  error
}

func (e *PortError) Error() string { return fmt.Sprintf("cannot open %s: %v", e.Port, e.Err) }
func (e *PortError) Unwrap() error { return e.Err }

// OpenDirect opens b for a master that is not the bus owner (--direct),
// after checking that no other master holds its serial port: that error
// wraps ErrPortLocked, a port that cannot be opened is a *PortError, and
// any other error is in b's settings. Each frame goes to onFrame (nil: not
// traced) as a trace line.
func OpenDirect(b config.Bus, onFrame func(api.TraceFrame)) (transport.Transport, error) {
	if b.Type == "rtu" {
		if err := transport.CheckPortFree(b.Port); err != nil {
			if errors.Is(err, transport.ErrPortLocked) {
				return nil, err
			}
			return nil, &PortError{Port: b.Port, Err: err}
		}
	}
	var hook func(transport.Frame)
	if onFrame != nil {
		conv := FrameConverter{MBAP: b.Type == "tcp"}
		hook = func(f transport.Frame) {
			for _, tf := range conv.Convert(f) {
				onFrame(tf)
			}
		}
	}
	return Open(b, hook)
}
