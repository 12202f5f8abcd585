package modbus

import (
	"encoding/binary"
	"fmt"
)

// Function codes fenghuo's masters send.
const (
	ReadCoils              uint8 = 1
	ReadDiscreteInputs     uint8 = 2
	ReadHoldingRegisters   uint8 = 3
	ReadInputRegisters     uint8 = 4
	WriteSingleCoil        uint8 = 5
	WriteSingleRegister    uint8 = 6
	WriteMultipleCoils     uint8 = 15
	WriteMultipleRegisters uint8 = 16
)

// ReadSize checks fc and count of a read and returns the number of data
// bytes in a good reply: 2 per register (fc 3, 4), or the bits packed 8
// per byte (fc 1, 2).
func ReadSize(fc uint8, count uint16) (int, error) {
	switch fc {
	case ReadCoils, ReadDiscreteInputs:
		if count < 1 || count > 2000 {
			return 0, fmt.Errorf("fc%d: count %d is out of range 1..2000", fc, count)
		}
		return (int(count) + 7) / 8, nil
	case ReadHoldingRegisters, ReadInputRegisters:
		if count < 1 || count > 125 {
			return 0, fmt.Errorf("fc%d: count %d is out of range 1..125", fc, count)
		}
		return 2 * int(count), nil
	}
	return 0, fmt.Errorf("fc%d: not a read function code (1, 2, 3, 4)", fc)
}

// ReadRequest returns the request PDU reading count registers or bits of
// fc from addr.
func ReadRequest(fc uint8, addr, count uint16) ([]byte, error) {
	if _, err := ReadSize(fc, count); err != nil {
		return nil, err
	}
	return []byte{fc, byte(addr >> 8), byte(addr), byte(count >> 8), byte(count)}, nil
}

// WriteRequest returns the request PDU writing values to the holding
// registers from addr: fc 6 for one value, fc 16 for 2..123.
func WriteRequest(addr uint16, values []uint16) ([]byte, error) {
	switch n := len(values); {
	case n == 1:
		return []byte{WriteSingleRegister, byte(addr >> 8), byte(addr), byte(values[0] >> 8), byte(values[0])}, nil
	case n >= 2 && n <= 123:
		pdu := make([]byte, 6, 6+2*n)
		pdu[0] = WriteMultipleRegisters
		binary.BigEndian.PutUint16(pdu[1:], addr)
		binary.BigEndian.PutUint16(pdu[3:], uint16(n))
		pdu[5] = byte(2 * n)
		for _, v := range values {
			pdu = binary.BigEndian.AppendUint16(pdu, v)
		}
		return pdu, nil
	}
	return nil, fmt.Errorf("write: %d registers is out of range 1..123", len(values))
}

// CheckResponse checks a response PDU (an exception already decoded)
// against its request PDU and returns the data of a read (the bytes after
// the byte count) or nil for a write. Errors wrap [ErrFrame].
func CheckResponse(req, resp []byte) ([]byte, error) {
	if len(req) < 5 || len(resp) < 1 || resp[0] != req[0] {
		return nil, fmt.Errorf("%w: response % X does not answer request % X", ErrFrame, resp, req)
	}
	switch fc := req[0]; fc {
	case ReadCoils, ReadDiscreteInputs, ReadHoldingRegisters, ReadInputRegisters:
		want, err := ReadSize(fc, binary.BigEndian.Uint16(req[3:]))
		if err != nil {
			return nil, err
		}
		if len(resp) != 2+want || int(resp[1]) != want {
			return nil, fmt.Errorf("%w: fc%d reply has %d data bytes, want %d", ErrFrame, fc, len(resp)-2, want)
		}
		return resp[2:], nil
	case WriteSingleCoil, WriteSingleRegister, WriteMultipleCoils, WriteMultipleRegisters:
		// fc 5/6 echo the request; fc 15/16 echo address and quantity
		if len(resp) != 5 || string(resp[1:5]) != string(req[1:5]) {
			return nil, fmt.Errorf("%w: fc%d reply % X does not echo the request % X", ErrFrame, fc, resp, req[:5])
		}
		return nil, nil
	}
	return nil, fmt.Errorf("%w: fc%d is not supported", ErrFrame, req[0])
}
