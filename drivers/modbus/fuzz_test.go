package modbus

import (
	"errors"
	"testing"
)

// FuzzDecodeRTU feeds arbitrary frames to the decoder and the length
// function: never a panic, never a PDU from a frame whose CRC, slave id
// or function code does not match, and RTUResponseLen agrees with
// DecodeRTU on the length of every accepted frame. Seeds: the shared
// frame table, plus the committed corpus in testdata/fuzz/FuzzDecodeRTU.
func FuzzDecodeRTU(f *testing.F) {
	for _, c := range responseFrames {
		f.Add(hx(c.frame), c.slave, c.fc)
	}
	f.Fuzz(func(t *testing.T, frame []byte, slave, fc byte) {
		n, lenErr := RTUResponseLen(frame)
		pdu, err := DecodeRTU(frame, slave, fc)
		var ex *Exception
		if errors.As(err, &ex) {
			if len(frame) != 5 || frame[1] != fc|0x80 || ex.Code != frame[2] {
				t.Fatalf("exception %v from % X", ex, frame)
			}
			return
		}
		if err != nil {
			if pdu != nil {
				t.Fatalf("pdu % X with error %v", pdu, err)
			}
			return
		}
		if lenErr != nil || n != len(frame) {
			t.Fatalf("accepted % X but RTUResponseLen = %d, %v", frame, n, lenErr)
		}
		if frame[0] != slave || frame[1] != fc || CRC16(frame) != 0 {
			t.Fatalf("accepted % X for slave %d fc%d", frame, slave, fc)
		}
		if string(pdu) != string(frame[1:len(frame)-2]) {
			t.Fatalf("pdu % X from % X", pdu, frame)
		}
	})
}
