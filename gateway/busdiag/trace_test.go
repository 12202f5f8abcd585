package busdiag

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

func TestFrameConverter(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	var c FrameConverter
	var got []string
	for _, f := range []transport.Frame{
		{At: at(0), Dir: transport.Sent, Bytes: []byte{1, 3, 0, 0, 0, 1, 0x84, 0x0A}},
		{At: at(12), Dir: transport.Received, Bytes: []byte{1, 3, 2, 0, 5, 0x78, 0x47}},
		{At: at(20), Dir: transport.Sent, Bytes: []byte{9, 3, 0, 0, 0, 1, 0x84, 0x82}},
		{At: at(320), Dir: transport.Sent, Bytes: []byte{7, 3, 0, 0, 0, 1, 0x84, 0x6C}},
		{At: at(330), Dir: transport.Received, Bytes: []byte{7, 3, 2, 0, 5, 0, 0}, Err: errors.New("crc mismatch")},
		{At: at(340), Dir: transport.Discarded, Bytes: []byte{0xFF, 0x00}},
	} {
		for _, tf := range c.Convert(f) {
			got = append(got, tf.At.Sub(t0).String()+" "+tf.Dir+" "+tf.Hex+" "+
				time.Duration(tf.LatencyMS*float64(time.Millisecond)).String()+" "+tf.Error)
		}
	}
	want := []string{
		"0s tx 01 03 00 00 00 01 84 0A 0s ",
		"12ms rx 01 03 02 00 05 78 47 12ms ",
		"20ms tx 09 03 00 00 00 01 84 82 0s ",
		"320ms rx  300ms no reply before the next request",
		"320ms tx 07 03 00 00 00 01 84 6C 0s ",
		"330ms rx 07 03 02 00 05 00 00 10ms crc mismatch",
		"340ms drop FF 00 0s ",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines %q, want %q", len(got), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d = %q, want %q", i, got[i], want[i])
		}
	}
}

// A Modbus TCP bus traces ADUs: the lines show the unit id and the PDU,
// timed and matched as on a serial line.
func TestFrameConverterMBAP(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	c := FrameConverter{MBAP: true}
	var got []string
	for _, f := range []transport.Frame{
		{At: t0, Dir: transport.Sent, Bytes: []byte{0, 1, 0, 0, 0, 6, 7, 3, 0, 0x10, 0, 2}},
		{At: t0.Add(5 * time.Millisecond), Dir: transport.Received, Bytes: []byte{0, 1, 0, 0, 0, 7, 7, 3, 4, 0x42, 0xA0, 0, 0}},
		{At: t0.Add(9 * time.Millisecond), Dir: transport.Sent, Bytes: []byte{0, 2, 0, 0, 0, 6, 1, 3, 3, 0xE8, 0, 2}},
		{At: t0.Add(12 * time.Millisecond), Dir: transport.Received, Bytes: []byte{0, 2, 0, 0, 0, 3, 1, 0x83, 2}, Err: errors.New("exception")},
	} {
		for _, tf := range c.Convert(f) {
			got = append(got, fmt.Sprintf("%s %d %d %s %.0f %s", tf.Dir, tf.Slave, tf.FC, tf.Hex, tf.LatencyMS, tf.Error))
		}
	}
	want := []string{
		"tx 7 3 07 03 00 10 00 02 0 ",
		"rx 7 3 07 03 04 42 A0 00 00 5 ",
		"tx 1 3 01 03 03 E8 00 02 0 ",
		"rx 1 131 01 83 02 3 exception",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
