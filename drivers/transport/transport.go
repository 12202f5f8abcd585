// Package transport carries Modbus requests to slaves on one bus.
//
// A [Transport] is one master on one line: it is NOT safe for concurrent
// use. The gateway gives each bus one owner goroutine (a second master on
// RS-485 corrupts frames, and goburrow's TCP client mismatches transaction
// ids when requests interleave).
//
// Three kinds of bus: Modbus TCP ([NewTCP]), Modbus RTU on a serial line
// ([NewRTU]: t3.5 gaps, input flushed before each request, replies read
// as they arrive and ended by their announced length, the port reopened
// after it disappears) and RTU framing over TCP for serial device servers
// ([NewRTUOverTCP]). [Open] picks one from a bus [Config]. An RTU line
// that echoes each request (a 2-wire half-duplex adapter) has the echo
// skipped before the reply ([Config.Echo]).
//
// Errors a caller can act on:
//   - a Modbus exception reply is an [*Exception] (errors.As);
//   - a slave that does not answer in time wraps [ErrTimeout] and
//     os.ErrDeadlineExceeded (errors.Is);
//   - a broken RTU reply wraps [ErrCRC], [ErrWrongSlave],
//     [ErrWrongFunction] or [ErrFrame], with the bytes in hex;
//   - anything else (refused connection, a port that is gone) is a plain
//     error naming the bus.
package transport

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbus"
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

// ErrLineDown means the line itself could not be reached: the serial port
// could not be opened, or the TCP connection to the device or the serial
// server could not be made. No slave was asked, so it says nothing about
// any one device; the next request tries the line again.
var ErrLineDown = errors.New("line down")

// ErrTimeout means the slave did not answer within the request timeout.
// Errors that wrap it also wrap os.ErrDeadlineExceeded when the deadline
// came from the network connection.
var ErrTimeout = errors.New("no reply within the timeout")

// Exception is a Modbus exception reply (function code | 0x80): the type
// lives in drivers/modbus, so errors.As with either name works.
type Exception = modbus.Exception

// Exception codes of the Modbus application protocol (v1.1b3 §7).
const (
	IllegalFunction    = modbus.IllegalFunction
	IllegalDataAddress = modbus.IllegalDataAddress
	IllegalDataValue   = modbus.IllegalDataValue
	DeviceFailure      = modbus.DeviceFailure
	DeviceBusy         = modbus.DeviceBusy
)

// Errors of a broken RTU reply (errors.Is); the error text shows the frame
// in hex. Aliases of drivers/modbus's sentinels.
var (
	ErrCRC           = modbus.ErrCRC           // CRC mismatch (noise, a collision)
	ErrWrongSlave    = modbus.ErrWrongSlave    // a frame from another slave id
	ErrWrongFunction = modbus.ErrWrongFunction // a frame for another function code
	ErrFrame         = modbus.ErrFrame         // garbage, truncated, over-long, bad byte count
)

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
	// Gap is the silence an rtu master keeps on the line before each
	// request: 0 means t3.5 (3.5 characters of 11 bits; 1.75 ms above
	// 19200 baud), as the spec says; a positive value replaces it; a
	// negative value keeps no gap (what libmodbus/mbpoll do), only for
	// lines whose devices tolerate back-to-back frames. On rtu-over-tcp
	// the device server times the serial line, so 0 and negative values
	// keep no gap, and a positive value is a pause after the last byte
	// received before the next request (for device servers that merge
	// back-to-back frames). Modbus TCP ignores it.
	Gap time.Duration
	// Echo is whether the line echoes each request back to the master
	// (rtu, rtu-over-tcp), as many 2-wire half-duplex RS-485 adapters do:
	// "" or auto skips an exact copy of the request at the start of the
	// input; on requires it (no copy is an error); off takes the first
	// bytes for the reply. Modbus TCP ignores it.
	Echo Echo
}

// Echo is [Config.Echo].
type Echo string

// Values of [Echo].
const (
	EchoAuto Echo = "auto" // the zero value "" means auto too
	EchoOn   Echo = "on"
	EchoOff  Echo = "off"
)

// DefaultTimeout is the per-request timeout when Config.Timeout is 0.
const DefaultTimeout = time.Second

// Open returns the transport for cfg: Modbus TCP, RTU on a serial port,
// or RTU framing over TCP. It checks the settings but does not open the
// line: that happens on the first request.
func Open(cfg Config) (Transport, error) {
	return OpenWith(cfg, Options{})
}

// OpenWith is [Open] with hooks (tests, `diag trace`).
func OpenWith(cfg Config, opts Options) (Transport, error) {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	switch cfg.Echo {
	case "", EchoAuto, EchoOn, EchoOff:
	default:
		return nil, fmt.Errorf("transport %s: echo %q (want auto, on or off)", cfg.Type, cfg.Echo)
	}
	switch cfg.Type {
	case "tcp":
		if cfg.Address == "" {
			return nil, errors.New("transport tcp: no address")
		}
		return NewTCPWith(cfg.Address, timeout, opts), nil
	case "rtu":
		cfg.Timeout = timeout
		return NewRTU(cfg, opts)
	case "rtu-over-tcp":
		if cfg.Address == "" {
			return nil, errors.New("transport rtu-over-tcp: no address")
		}
		t := NewRTUOverTCP(cfg.Address, timeout, opts).(*rtu)
		t.gap = max(cfg.Gap, 0)
		t.echo = cfg.Echo
		return t, nil
	default:
		return nil, fmt.Errorf("transport: unknown type %q (want tcp, rtu or rtu-over-tcp)", cfg.Type)
	}
}
