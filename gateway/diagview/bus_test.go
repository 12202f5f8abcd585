package diagview

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
)

// fourOrders of 0x42A0 0x0000 (80.0 as an ABCD float), as the daemon
// computes them (gateway/busdiag/read.go).
var orders80 = []api.OrderValue{
	{Order: "ABCD", U32: 0x42A00000, I32: 0x42A00000, F32: 80},
	{Order: "CDAB", U32: 0x000042A0, I32: 0x000042A0, F32: api.Float(math.Float32frombits(0x000042A0))},
	{Order: "BADC", U32: 0xA0420000, I32: -1606287360, F32: api.Float(math.Float32frombits(0xA0420000))},
	{Order: "DCBA", U32: 0x0000A042, I32: 0x0000A042, F32: api.Float(math.Float32frombits(0x0000A042))},
}

// The bus tables, on fixed answers (golden files; -update rewrites them).
func TestRenderBusGolden(t *testing.T) {
	device := api.ReadResult{Bus: "rs485-1", Slave: 7, Device: "efd-1f-main", Profile: "electrical-fire-1p",
		Blocks: []api.Block{{FC: 3, Address: 0, Count: 38, LatencyMS: 41.7}},
		Points: []api.PointValue{
			{Name: "alarm_flags", FC: 3, Address: 1, Type: "u16", Order: "ABCD", Registers: []uint16{0x0003}, Value: 3, SetBits: []string{"bit0 residual alarm", "bit1 temperature 1 alarm"}},
			{Name: "residual_current", FC: 3, Address: 16, Type: "f32", Order: "ABCD", Unit: "mA", Registers: []uint16{0x42A0, 0}, Value: 80, Orders: orders80},
			{Name: "t3", FC: 3, Address: 22, Type: "f32", Order: "ABCD", Unit: "°C", Registers: []uint16{0xC348, 0}, Value: -200, Absent: true},
			{Name: "pf", FC: 3, Address: 32, Type: "f32", Order: "ABCD", Registers: []uint16{0x7FC0, 0}, Value: api.Float(math.NaN())},
		}}
	raw := api.ReadResult{Bus: "rs485-1", Slave: 7,
		Blocks: []api.Block{{FC: 3, Address: 16, Count: 3, LatencyMS: 12.34, Registers: []uint16{0x42A0, 0, 0xFF38}}},
		Pairs:  []api.Pair{{Address: 16, Registers: [2]uint16{0x42A0, 0}, Orders: orders80}}}
	bits := api.ReadResult{Bus: "lan", Slave: 3, Blocks: []api.Block{{FC: 2, Address: 8, Count: 3, LatencyMS: 3, Bits: []bool{true, false, true}}}}
	exception := api.ReadResult{Bus: "rs485-1", Slave: 1, Error: "slave 1 fc3 @1000+2: modbus exception 2 (illegal data address) to fc3",
		Exception: &api.Exception{Code: 2, Name: "illegal data address"},
		Blocks:    []api.Block{{FC: 3, Address: 1000, Count: 2, LatencyMS: 9.1, Exception: &api.Exception{Code: 2, Name: "illegal data address"}}}}
	scan := api.ScanResult{Bus: "rs485-1", From: 1, To: 247, TookMS: 74_812, Found: []api.ScanFound{
		{Slave: 1, LatencyMS: 11.2, Profile: "smoke-detector", Confidence: "probe", Candidates: []string{"smoke-detector", "arc-fault-1p", "smoke-485-basic"}, Answer: "registers"},
		{Slave: 7, LatencyMS: 14.8, Profile: "electrical-fire-1p", Confidence: "probe", Candidates: []string{"electrical-fire-1p", "smoke-detector"}, Answer: "registers"},
		{Slave: 100, LatencyMS: 9.9, Answer: "exception 01 illegal function"},
	}}
	at := time.Date(2026, 11, 29, 8, 0, 1, 234_000_000, time.UTC)
	frames := []api.TraceFrame{
		{At: at, Dir: "tx", Slave: 1, FC: 3, Hex: "01 03 00 00 00 17 04 04"},
		{At: at.Add(31 * time.Millisecond), Dir: "rx", Slave: 1, FC: 3, Hex: "01 03 2E 00 00", LatencyMS: 31.2},
		{At: at.Add(40 * time.Millisecond), Dir: "tx", Slave: 9, FC: 3, Hex: "09 03 00 00 00 01 84 82"},
		{At: at.Add(340 * time.Millisecond), Dir: "rx", Slave: 9, FC: 3, LatencyMS: 300, Error: "no reply before the next request"},
		{At: at.Add(340 * time.Millisecond), Dir: "tx", Slave: 7, FC: 3, Hex: "07 03 00 00 00 26 C4 76"},
		{At: at.Add(380 * time.Millisecond), Dir: "rx", Slave: 7, FC: 3, Hex: "07 03 4C 00 01", LatencyMS: 40, Error: "crc mismatch"},
	}
	for _, tc := range []struct {
		name   string
		render func(*bytes.Buffer)
	}{
		{"read_device", func(b *bytes.Buffer) { Read(b, device) }},
		{"read_raw", func(b *bytes.Buffer) { Read(b, raw) }},
		{"read_bits", func(b *bytes.Buffer) { Read(b, bits) }},
		{"read_exception", func(b *bytes.Buffer) { Read(b, exception) }},
		{"scan", func(b *bytes.Buffer) { Scan(b, scan) }},
		{"scan_none", func(b *bytes.Buffer) { Scan(b, api.ScanResult{Bus: "rs485-1", From: 1, To: 16, TookMS: 4800}) }},
		{"trace", func(b *bytes.Buffer) {
			tw := NewTrace(b, false, time.UTC)
			for _, f := range frames {
				tw.Frame(f)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			tc.render(&b)
			golden(t, "diag_"+tc.name+".golden", b.String())
		})
	}
}

// A progress bar on a terminal is redrawn in place; plain lines elsewhere
// (tested in diag_bus_test.go).
func TestProgressBar(t *testing.T) {
	var b bytes.Buffer
	p := &Progress{w: &b, tty: true, total: 10, prefix: "scan rs485-1 1..10"}
	p.Event(api.StreamEvent{Type: "progress", Progress: &api.ScanProgress{Slave: 4, Done: 4, Total: 10, Found: 1, LeftMS: 1800}})
	p.Event(api.StreamEvent{Type: "found", Found: &api.ScanFound{Slave: 5, Profile: "smoke-detector"}})
	p.End()
	want := "\r\033[K[############..................] 4/10 ids  1 found  about 1s left" +
		"\r\033[Kscan rs485-1 1..10: slave 5 answers (smoke-detector)\n\r\033[K"
	if b.String() != want {
		t.Errorf("bar:\n%q\nwant\n%q", b.String(), want)
	}
}
