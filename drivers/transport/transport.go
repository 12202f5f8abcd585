// Package transport carries Modbus requests to slaves on one bus.
//
// A [Transport] is one master on one line: it is NOT safe for concurrent
// use. The gateway gives each bus one owner goroutine (a second master on
// RS-485 corrupts frames, and goburrow's TCP client mismatches transaction
// ids when requests interleave).
//
// Errors a caller can act on:
//   - a Modbus exception reply is an [*Exception] (errors.As);
//   - a slave that does not answer in time wraps [ErrTimeout] and
//     os.ErrDeadlineExceeded (errors.Is);
//   - anything else (refused connection, broken frame) is a plain error.
package transport

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Transport sends one request to one slave and returns its answer.
type Transport interface {
	// Read reads count registers (fc 3, 4) or bits (fc 1, 2) from addr.
	// It returns the data bytes after the byte count: 2 per register, big
	// endian; or the bits packed 8 per byte, first bit in the lowest bit.
	Read(ctx context.Context, slave, fc uint8, addr, count uint16) ([]byte, error)
	// Write writes holding registers from addr: one value with fc 6, more
	// with fc 16.
	Write(ctx context.Context, slave uint8, addr uint16, values []uint16) error
	// Close closes the connection; a later request reconnects.
	Close() error
}

// ErrTimeout means the slave did not answer within the request timeout.
// Errors that wrap it also wrap os.ErrDeadlineExceeded when the deadline
// came from the network connection.
var ErrTimeout = errors.New("no reply within the timeout")

// Exception is a Modbus exception reply (function code | 0x80).
type Exception struct {
	Func uint8 // function code of the request, without 0x80
	Code uint8 // exception code: 1 illegal function, 2 illegal data address, …
}

// Exception codes of the Modbus application protocol (v1.1b3 §7).
const (
	IllegalFunction    uint8 = 0x01
	IllegalDataAddress uint8 = 0x02
	IllegalDataValue   uint8 = 0x03
	DeviceFailure      uint8 = 0x04
	DeviceBusy         uint8 = 0x06
)

var exceptionNames = map[uint8]string{
	IllegalFunction:    "illegal function",
	IllegalDataAddress: "illegal data address",
	IllegalDataValue:   "illegal data value",
	DeviceFailure:      "server device failure",
	0x05:               "acknowledge",
	DeviceBusy:         "server device busy",
	0x08:               "memory parity error",
	0x0A:               "gateway path unavailable",
	0x0B:               "gateway target device failed to respond",
}

// Error returns e.g. "modbus exception 2 (illegal data address) to fc3".
func (e *Exception) Error() string {
	name, ok := exceptionNames[e.Code]
	if !ok {
		name = "unknown"
	}
	return fmt.Sprintf("modbus exception %d (%s) to fc%d", e.Code, name, e.Func)
}

// Config describes one bus, as in the config's buses[] (DESIGN.md §3).
type Config struct {
	Type     string        // tcp | rtu | rtu-over-tcp
	Address  string        // host:port, for tcp and rtu-over-tcp
	Port     string        // serial device, for rtu
	Baud     int           // rtu
	DataBits int           // rtu
	Parity   string        // rtu: N | E | O
	StopBits int           // rtu
	Timeout  time.Duration // per request; 0 means 1 s
}

// DefaultTimeout is the per-request timeout when Config.Timeout is 0.
const DefaultTimeout = time.Second

// Open returns the transport for cfg. Only tcp is implemented in this
// round; rtu and rtu-over-tcp return an error saying so.
func Open(cfg Config) (Transport, error) {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	switch cfg.Type {
	case "tcp":
		if cfg.Address == "" {
			return nil, errors.New("transport tcp: no address")
		}
		return NewTCP(cfg.Address, timeout), nil
	case "rtu", "rtu-over-tcp":
		return nil, fmt.Errorf("transport %s: not supported yet", cfg.Type)
	default:
		return nil, fmt.Errorf("transport: unknown type %q (want tcp, rtu or rtu-over-tcp)", cfg.Type)
	}
}
