package modbus

import (
	"errors"
	"fmt"
)

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

// Name is the exception code's name in the Modbus specification, e.g.
// "illegal data address", or "unknown".
func (e *Exception) Name() string {
	if name, ok := exceptionNames[e.Code]; ok {
		return name
	}
	return "unknown"
}

// Error returns e.g. "modbus exception 2 (illegal data address) to fc3".
func (e *Exception) Error() string {
	return fmt.Sprintf("modbus exception %d (%s) to fc%d", e.Code, e.Name(), e.Func)
}

// Sentinel errors of the frame decoder; returned errors wrap them with
// the details (and the frame in hex).
var (
	// ErrCRC: the CRC at the end of the frame does not match its bytes.
	ErrCRC = errors.New("crc mismatch")
	// ErrWrongSlave: a frame from another slave id than the one asked.
	ErrWrongSlave = errors.New("reply from another slave")
	// ErrWrongFunction: a frame for another function code than the one asked.
	ErrWrongFunction = errors.New("reply to another function code")
	// ErrFrame: a frame too short or too long, or a byte count, address or
	// quantity that does not match the request.
	ErrFrame = errors.New("malformed frame")
)
