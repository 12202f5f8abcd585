package modbus

import "fmt"

// MaxRTUFrame is the longest RTU frame: slave + 253-byte PDU + CRC.
const MaxRTUFrame = 256

// EncodeRTU returns the RTU frame of a request: slave, pdu, CRC (low
// byte first).
func EncodeRTU(slave uint8, pdu []byte) []byte {
	b := make([]byte, 0, len(pdu)+3)
	b = append(b, slave)
	b = append(b, pdu...)
	return AppendCRC(b)
}

// RTUResponseLen returns the total length of the response frame whose
// first bytes are head, as soon as they tell it: an exception (fc | 0x80)
// is 5 bytes; fc 1–4 are 5 + the byte count (the third byte); fc 5, 6, 15
// and 16 are 8. It returns 0 and no error when head is too short to tell
// yet, and an error wrapping [ErrFrame] when the head cannot start a
// response frame (an unknown function code, a byte count of 0).
func RTUResponseLen(head []byte) (int, error) {
	if len(head) < 2 {
		return 0, nil
	}
	fc := head[1]
	if fc&0x80 != 0 {
		return 5, nil
	}
	switch fc {
	case ReadCoils, ReadDiscreteInputs, ReadHoldingRegisters, ReadInputRegisters:
		if len(head) < 3 {
			return 0, nil
		}
		if head[2] == 0 || int(head[2]) > MaxRTUFrame-5 {
			return 0, fmt.Errorf("%w: byte count %d in % X", ErrFrame, head[2], head)
		}
		return 5 + int(head[2]), nil
	case WriteSingleCoil, WriteSingleRegister, WriteMultipleCoils, WriteMultipleRegisters:
		return 8, nil
	}
	return 0, fmt.Errorf("%w: function code %d cannot start a response (% X)", ErrFrame, fc, head)
}

// DecodeRTU checks a complete RTU response frame to a request (slave, fc)
// and returns its PDU (function code and data, aliasing frame). It checks,
// in order: the length, the CRC, the slave id, the function code (an
// exception reply is returned as an [*Exception]) and the length the
// function code implies. Every error but *Exception wraps one of
// [ErrFrame], [ErrCRC], [ErrWrongSlave], [ErrWrongFunction] and shows the
// frame in hex.
func DecodeRTU(frame []byte, slave, fc uint8) ([]byte, error) {
	if len(frame) < 5 || len(frame) > MaxRTUFrame {
		return nil, fmt.Errorf("%w: %d bytes (% X)", ErrFrame, len(frame), frame)
	}
	n := len(frame) - 2
	if got, want := uint16(frame[n])|uint16(frame[n+1])<<8, CRC16(frame[:n]); got != want {
		return nil, fmt.Errorf("%w: frame % X ends in %04X, want %04X", ErrCRC, frame, got, want)
	}
	if frame[0] != slave {
		return nil, fmt.Errorf("%w: slave %d answered, asked %d (% X)", ErrWrongSlave, frame[0], slave, frame)
	}
	if frame[1]&0x7F != fc {
		return nil, fmt.Errorf("%w: fc%d reply to fc%d (% X)", ErrWrongFunction, frame[1]&0x7F, fc, frame)
	}
	want, err := RTUResponseLen(frame)
	if err != nil {
		return nil, err
	}
	if want != len(frame) {
		return nil, fmt.Errorf("%w: %d bytes, fc%d header says %d (% X)", ErrFrame, len(frame), fc, want, frame)
	}
	if frame[1]&0x80 != 0 {
		return nil, &Exception{Func: fc, Code: frame[2]}
	}
	return frame[1:n], nil
}

// RTURequestLen is the length of the request frame starting buf (what a
// slave reads): 8 for function codes 1–6, 9 + the byte count for 15 and
// 16; 0 while buf is too short to tell, or len(buf) for bytes that cannot
// start a request (an unknown function code), so the caller discards them.
func RTURequestLen(buf []byte) int {
	if len(buf) < 2 {
		return 0
	}
	switch buf[1] {
	case 1, 2, 3, 4, 5, 6:
		return 8
	case 15, 16:
		if len(buf) < 7 {
			return 0
		}
		return 9 + int(buf[6])
	}
	return len(buf)
}
