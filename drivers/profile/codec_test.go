package profile

import (
	"encoding/hex"
	"math"
	"strings"
	"testing"
)

// decodeCases are known byte vectors (wire order) and the value each one
// carries. They feed the decode, encode and fuzz-seed tests.
var decodeCases = []struct {
	name  string
	pt    Point
	wire  string // hex, spaces ignored
	value float64
}{
	{"u16", Point{Type: "u16", Order: "ABCD"}, "12 34", 0x1234},
	{"u16 BADC", Point{Type: "u16", Order: "BADC"}, "34 12", 0x1234},
	{"u16 DCBA", Point{Type: "u16", Order: "DCBA"}, "34 12", 0x1234},
	{"u16 CDAB", Point{Type: "u16", Order: "CDAB"}, "12 34", 0x1234},
	{"i16 negative", Point{Type: "i16", Order: "ABCD"}, "FF 85", -123},
	{"i16 scaled", Point{Type: "i16", Order: "ABCD", Scale: 0.1}, "01 57", 34.3},
	{"u32 ABCD", Point{Type: "u32", Order: "ABCD"}, "00 01 E2 40", 123456},
	{"u32 CDAB", Point{Type: "u32", Order: "CDAB"}, "E2 40 00 01", 123456},
	{"u32 BADC", Point{Type: "u32", Order: "BADC"}, "01 00 40 E2", 123456},
	{"u32 DCBA", Point{Type: "u32", Order: "DCBA"}, "40 E2 01 00", 123456},
	{"i32 ABCD", Point{Type: "i32", Order: "ABCD"}, "FF FE 1D C0", -123456},
	{"i32 CDAB", Point{Type: "i32", Order: "CDAB"}, "1D C0 FF FE", -123456},
	{"f32 1.0 ABCD", Point{Type: "f32", Order: "ABCD"}, "3F 80 00 00", 1},
	{"f32 1.0 CDAB", Point{Type: "f32", Order: "CDAB"}, "00 00 3F 80", 1},
	{"f32 1.0 BADC", Point{Type: "f32", Order: "BADC"}, "80 3F 00 00", 1},
	{"f32 1.0 DCBA", Point{Type: "f32", Order: "DCBA"}, "00 00 80 3F", 1},
	{"f32 -200 absent sentinel", Point{Type: "f32", Order: "ABCD"}, "C3 48 00 00", -200},
	{"u64 ABCD", Point{Type: "u64", Order: "ABCD"}, "00 00 00 01 00 00 00 02", 1<<32 + 2},
	{"u64 CDAB", Point{Type: "u64", Order: "CDAB"}, "00 02 00 00 00 01 00 00", 1<<32 + 2},
	{"i64 DCBA", Point{Type: "i64", Order: "DCBA"}, "FE FF FF FF FF FF FF FF", -2},
	{"f64 ABCD", Point{Type: "f64", Order: "ABCD"}, "3F F8 00 00 00 00 00 00", 1.5},
	{"f64 BADC", Point{Type: "f64", Order: "BADC"}, "F8 3F 00 00 00 00 00 00", 1.5},
	{"u16 scale offset", Point{Type: "u16", Order: "ABCD", Scale: 1, Offset: -40}, "00 3C", 20},
	{"pzem current", Point{Type: "u32", Order: "CDAB", Scale: 0.001}, "10 E1 00 00", 4.321},
	{"chint ua", Point{Type: "f32", Order: "ABCD", Scale: 0.1}, "45 10 C0 00", 231.6},
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func approx(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestDecodeVectors(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			pt := tc.pt
			pt.Name = "p"
			wire := unhex(t, tc.wire)
			if got := registerDecoder(&pt)(wire); !approx(got, tc.value) {
				t.Errorf("decode % X = %v, want %v", wire, got, tc.value)
			}
		})
	}
}

func TestEncodeValueRoundTrip(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			pt := tc.pt
			pt.Name = "p"
			words, err := EncodeValue(&pt, tc.value)
			if err != nil {
				t.Fatal(err)
			}
			wire := make([]byte, 0, 2*len(words))
			for _, w := range words {
				wire = append(wire, byte(w>>8), byte(w))
			}
			if want := unhex(t, tc.wire); string(wire) != string(want) {
				t.Errorf("encode %v = % X, want % X", tc.value, wire, want)
			}
			back, err := DecodeValue(&pt, words)
			if err != nil || !approx(back, tc.value) {
				t.Errorf("DecodeValue = %v, %v; want %v", back, err, tc.value)
			}
		})
	}
}

func TestEncodeValueErrors(t *testing.T) {
	cases := []struct {
		pt Point
		v  float64
	}{
		{Point{Type: "u16", Order: "ABCD"}, -1},
		{Point{Type: "u16", Order: "ABCD"}, 65536},
		{Point{Type: "i16", Order: "ABCD"}, 40000},
		{Point{Type: "u16", Order: "ABCD", Scale: 0.1}, 6553.6},
		{Point{Type: "u32", Order: "CDAB"}, math.NaN()},
		{Point{Type: "bit"}, 2},
		{Point{Type: "f33", Order: "ABCD"}, 1},
		{Point{Type: "u16", Order: "XYZW"}, 1},
	}
	for _, tc := range cases {
		pt := tc.pt
		pt.Name = "p"
		if w, err := EncodeValue(&pt, tc.v); err == nil {
			t.Errorf("EncodeValue(%s %s, %v) = %v, want an error", pt.Type, pt.Order, tc.v, w)
		}
	}
}

func TestIsAbsent(t *testing.T) {
	if !isAbsent(-200.00000001, []float64{-200}) {
		t.Error("a scaled -200 must count as the -200 sentinel")
	}
	if isAbsent(-199.9, []float64{-200}) || isAbsent(0, nil) {
		t.Error("a real value must not count as absent")
	}
}

func TestBCD16(t *testing.T) {
	pt := &Point{Name: "fw_version", Type: "bcd16", Order: "ABCD", Scale: 0.01}
	for _, c := range []struct {
		word uint16
		want float64
	}{{0x0123, 1.23}, {0x9999, 99.99}, {0x0000, 0}, {0x1000, 10}} {
		v, err := DecodeValue(pt, []uint16{c.word})
		if err != nil || math.Abs(v-c.want) > 1e-9 {
			t.Errorf("bcd16 %#04x = %v, %v; want %v", c.word, v, err, c.want)
		}
		words, err := EncodeValue(pt, c.want)
		if err != nil || words[0] != c.word {
			t.Errorf("encode %v = %#04x, %v; want %#04x", c.want, words, err, c.word)
		}
	}
	if v, _ := DecodeValue(pt, []uint16{0x012A}); !math.IsNaN(v) {
		t.Errorf("bcd16 0x012A (a nibble over 9) = %v, want NaN (a bad reading)", v)
	}
}
