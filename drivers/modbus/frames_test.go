package modbus

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// hx parses "01 03 00 10" into bytes.
func hx(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// requestFrames are known request frames (CRCs cross-checked with
// pymodbus 3.0.0's computeCRC and the Modbus over serial line spec).
var requestFrames = []struct {
	slave uint8
	pdu   string
	frame string
}{
	{1, "03 0010 0001", "01 03 00 10 00 01 85 CF"},
	{1, "03 0000 000A", "01 03 00 00 00 0A C5 CD"},
	{0x11, "03 0000 000A", "11 03 00 00 00 0A C7 5D"},
	{1, "06 000A 0102", "01 06 00 0A 01 02 29 99"},
	{1, "03 0000 0002", "01 03 00 00 00 02 C4 0B"},
}

// responseFrames is the shared frame table: a response frame, the request
// (slave, fc) it is decoded against, and the PDU or error expected. The
// fuzz seed corpus (testdata/fuzz/FuzzDecodeRTU) holds the same frames.
var responseFrames = []struct {
	name      string
	frame     string
	slave, fc uint8
	pdu       string // want, when err is nil
	err       error  // errors.Is target; nil for success, excErr for an exception
}{
	{"fc3 one register", "01 03 02 00 01 79 84", 1, 3, "03 02 0001", nil},
	{"byte count 4, 5 data bytes", "01 03 04 00 12 00 34 00 00 FB 78", 1, 3, "", ErrFrame},
	{"one byte too many", "01 03 02 00 01 FF 05 A2", 1, 3, "", ErrFrame},
	{"fc1 coils", "01 01 01 03 11 89", 1, 1, "01 01 03", nil},
	{"fc6 echo", "01 06 00 0A 01 02 29 99", 1, 6, "06 000A 0102", nil},
	{"fc16 echo", "01 10 00 0A 00 02 61 CA", 1, 16, "10 000A 0002", nil},
	{"exception 2 to fc3", "01 83 02 C0 F1", 1, 3, "", excErr},
	{"crc flipped", "01 03 02 00 01 79 85", 1, 3, "", ErrCRC},
	{"crc swapped", "01 03 02 00 01 84 79", 1, 3, "", ErrCRC},
	{"wrong slave", "01 03 02 00 01 79 84", 2, 3, "", ErrWrongSlave},
	{"wrong function", "01 03 02 00 01 79 84", 1, 4, "", ErrWrongFunction},
	{"truncated", "01 03 02 00", 1, 3, "", ErrFrame},
	{"empty", "", 1, 3, "", ErrFrame},
	{"request echoed as reply", "01 03 00 10 00 01 85 CF", 1, 3, "", ErrFrame},
	{"over-long exception", "01 83 02 00 F1 50", 1, 3, "", ErrFrame},
}

// excErr marks rows that expect an *Exception.
var excErr = errors.New("exception")

func TestEncodeRTU(t *testing.T) {
	for _, c := range requestFrames {
		if got := EncodeRTU(c.slave, hx(c.pdu)); string(got) != string(hx(c.frame)) {
			t.Errorf("EncodeRTU(%d, %s) = % X, want %s", c.slave, c.pdu, got, c.frame)
		}
		if crc := CRC16(hx(c.frame)); crc != 0 {
			t.Errorf("CRC16 over %s with its CRC = %04X, want 0", c.frame, crc)
		}
	}
}

func TestDecodeRTU(t *testing.T) {
	for _, c := range responseFrames {
		t.Run(c.name, func(t *testing.T) {
			pdu, err := DecodeRTU(hx(c.frame), c.slave, c.fc)
			switch {
			case c.err == nil:
				if err != nil || string(pdu) != string(hx(c.pdu)) {
					t.Fatalf("= % X, %v; want %s", pdu, err, c.pdu)
				}
			case c.err == excErr:
				var ex *Exception
				if !errors.As(err, &ex) || ex.Func != c.fc || ex.Code != IllegalDataAddress {
					t.Fatalf("err = %v, want exception 2 to fc%d", err, c.fc)
				}
			default:
				if !errors.Is(err, c.err) || pdu != nil {
					t.Fatalf("= % X, %v; want %v", pdu, err, c.err)
				}
			}
		})
	}
}

func TestRTUResponseLen(t *testing.T) {
	for _, c := range []struct {
		head string
		want int
		bad  bool
	}{
		{"", 0, false}, {"01", 0, false}, {"01 03", 0, false},
		{"01 03 02", 7, false}, {"01 03 14", 25, false}, {"01 01 01", 6, false}, {"01 04 FA", 255, false},
		{"01 83", 5, false}, {"01 81", 5, false}, {"01 06", 8, false}, {"01 05", 8, false},
		{"01 0F", 8, false}, {"01 10", 8, false},
		{"01 03 00", 0, true}, {"01 03 FC", 0, true}, {"01 07", 0, true}, {"01 00", 0, true},
	} {
		n, err := RTUResponseLen(hx(c.head))
		if n != c.want || (err != nil) != c.bad || (err != nil && !errors.Is(err, ErrFrame)) {
			t.Errorf("RTUResponseLen(%s) = %d, %v; want %d (error %v)", c.head, n, err, c.want, c.bad)
		}
	}
}

func TestRequestsAndCheckResponse(t *testing.T) {
	req, err := ReadRequest(3, 0x10, 1)
	if err != nil || string(req) != string(hx("03 0010 0001")) {
		t.Fatalf("ReadRequest = % X, %v", req, err)
	}
	if data, err := CheckResponse(req, hx("03 02 0001")); err != nil || string(data) != string(hx("0001")) {
		t.Errorf("CheckResponse = % X, %v", data, err)
	}
	if _, err := CheckResponse(req, hx("03 04 0001 0002")); !errors.Is(err, ErrFrame) {
		t.Errorf("two registers for one: %v", err)
	}
	for _, c := range []struct {
		fc    uint8
		count uint16
	}{{3, 0}, {3, 126}, {1, 2001}, {5, 1}, {0, 1}} {
		if _, err := ReadRequest(c.fc, 0, c.count); err == nil {
			t.Errorf("ReadRequest(fc%d, count %d): want an error", c.fc, c.count)
		}
	}
	w, err := WriteRequest(10, []uint16{0x0102})
	if err != nil || string(w) != string(hx("06 000A 0102")) {
		t.Fatalf("WriteRequest one = % X, %v", w, err)
	}
	if _, err := CheckResponse(w, hx("06 000A 0102")); err != nil {
		t.Errorf("fc6 echo: %v", err)
	}
	if _, err := CheckResponse(w, hx("06 000A 0103")); !errors.Is(err, ErrFrame) {
		t.Errorf("fc6 wrong echo: %v", err)
	}
	w, err = WriteRequest(10, []uint16{1, 2})
	if err != nil || string(w) != string(hx("10 000A 0002 04 0001 0002")) {
		t.Fatalf("WriteRequest two = % X, %v", w, err)
	}
	if _, err := CheckResponse(w, hx("10 000A 0002")); err != nil {
		t.Errorf("fc16 echo: %v", err)
	}
	if _, err := WriteRequest(0, nil); err == nil {
		t.Error("empty write: want an error")
	}
	if _, err := WriteRequest(0, make([]uint16, 124)); err == nil {
		t.Error("124 registers: want an error")
	}
}

func TestExceptionError(t *testing.T) {
	if got := (&Exception{Func: 3, Code: 2}).Error(); got != "modbus exception 2 (illegal data address) to fc3" {
		t.Errorf("Error() = %q", got)
	}
	if got := (&Exception{Func: 3, Code: 0x42}).Error(); !strings.Contains(got, "unknown") {
		t.Errorf("Error() = %q", got)
	}
}
