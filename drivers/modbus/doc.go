// Package modbus holds the Modbus wire formats that need no I/O: request
// PDUs, RTU framing (slave id + PDU + CRC-16/Modbus), the expected length
// of a response frame, a strict response decoder and the typed errors a
// master acts on. It uses the standard library only and is fuzzed
// (FuzzDecodeRTU).
//
// Errors a caller can act on (errors.Is / errors.As):
//   - [ErrCRC]: the frame's CRC does not match (noise, a collision);
//   - [ErrWrongSlave], [ErrWrongFunction]: a well-formed frame, but not
//     the answer to this request (a late reply, a second master);
//   - [ErrFrame]: too short, too long, or a byte count that does not fit;
//   - [*Exception]: the slave answered with an exception (fc | 0x80).
package modbus
