package profile

import (
	"encoding/binary"
	"fmt"
	"math"
)

// valueType describes one register type: its width in registers and the
// conversions between big-endian bytes and the raw number.
type valueType struct {
	words  int
	float  bool
	min    float64 // raw range, for EncodeValue and default checks
	max    float64
	decode func(be []byte) float64
	encode func(be []byte, raw float64)
}

// types maps the profile's type names to their codecs. It is consulted
// when a profile is validated or compiled, never per sample.
var types = map[string]valueType{
	"u16": {1, false, 0, math.MaxUint16,
		func(b []byte) float64 { return float64(binary.BigEndian.Uint16(b)) },
		func(b []byte, v float64) { binary.BigEndian.PutUint16(b, uint16(v)) }},
	"i16": {1, false, math.MinInt16, math.MaxInt16,
		func(b []byte) float64 { return float64(int16(binary.BigEndian.Uint16(b))) },
		func(b []byte, v float64) { binary.BigEndian.PutUint16(b, uint16(int16(v))) }},
	"u32": {2, false, 0, math.MaxUint32,
		func(b []byte) float64 { return float64(binary.BigEndian.Uint32(b)) },
		func(b []byte, v float64) { binary.BigEndian.PutUint32(b, uint32(v)) }},
	"i32": {2, false, math.MinInt32, math.MaxInt32,
		func(b []byte) float64 { return float64(int32(binary.BigEndian.Uint32(b))) },
		func(b []byte, v float64) { binary.BigEndian.PutUint32(b, uint32(int32(v))) }},
	"f32": {2, true, -math.MaxFloat32, math.MaxFloat32,
		func(b []byte) float64 { return float64(math.Float32frombits(binary.BigEndian.Uint32(b))) },
		func(b []byte, v float64) { binary.BigEndian.PutUint32(b, math.Float32bits(float32(v))) }},
	"u64": {4, false, 0, 18446744073709549568, // largest float64 < 2^64
		func(b []byte) float64 { return float64(binary.BigEndian.Uint64(b)) },
		func(b []byte, v float64) { binary.BigEndian.PutUint64(b, uint64(v)) }},
	"i64": {4, false, math.MinInt64, 9223372036854774784, // largest float64 < 2^63
		func(b []byte) float64 { return float64(int64(binary.BigEndian.Uint64(b))) },
		func(b []byte, v float64) { binary.BigEndian.PutUint64(b, uint64(int64(v))) }},
	// bcd16: four binary-coded decimal digits, 0x0123 → 123 (firmware
	// versions: with scale 0.01, 1.23); a nibble over 9 decodes as NaN, a
	// bad reading.
	"bcd16": {1, false, 0, 9999,
		func(b []byte) float64 { return decodeBCD(binary.BigEndian.Uint16(b)) },
		func(b []byte, v float64) { binary.BigEndian.PutUint16(b, encodeBCD(uint16(v))) }},
	"f64": {4, true, -math.MaxFloat64, math.MaxFloat64,
		func(b []byte) float64 { return math.Float64frombits(binary.BigEndian.Uint64(b)) },
		func(b []byte, v float64) { binary.BigEndian.PutUint64(b, math.Float64bits(v)) }},
}

// typeNames is the order in which the types are listed in errors.
const typeNames = "u16, i16, u32, i32, f32, u64, i64, f64, bcd16, bit"

// decodeBCD reads four BCD digits; NaN when a nibble is not a digit.
func decodeBCD(w uint16) float64 {
	v := 0.0
	for shift := 12; shift >= 0; shift -= 4 {
		d := (w >> shift) & 0xF
		if d > 9 {
			return math.NaN()
		}
		v = v*10 + float64(d)
	}
	return v
}

// encodeBCD writes n (0..9999) as four BCD digits.
func encodeBCD(n uint16) uint16 {
	var w uint16
	for shift := 0; shift <= 12; shift += 4 {
		w |= (n % 10) << shift
		n /= 10
	}
	return w
}

// reorder copies src (wire order) to dst (big-endian order), or back: each
// order is its own inverse.
type reorder func(dst, src []byte)

// orders maps the order names to their reorder functions. A 16-bit value
// is affected only by the byte swap (BADC, DCBA).
var orders = map[string]reorder{
	"ABCD": func(dst, src []byte) { copy(dst, src) },
	"BADC": swapBytes,
	"CDAB": swapWords,
	"DCBA": func(dst, src []byte) {
		for i := range dst {
			dst[i] = src[len(src)-1-i]
		}
	},
}

// swapBytes swaps the two bytes of every register, keeping register order.
func swapBytes(dst, src []byte) {
	for i := 0; i+1 < len(src); i += 2 {
		dst[i], dst[i+1] = src[i+1], src[i]
	}
}

// swapWords reverses the register order, keeping each register's bytes.
func swapWords(dst, src []byte) {
	n := len(src)
	for i := 0; i+1 < n; i += 2 {
		dst[i], dst[i+1] = src[n-2-i], src[n-1-i]
	}
}

// registerDecoder returns a function from the point's wire bytes (2×words)
// to its engineering value, chosen once from the point's type, order,
// scale and offset. It reads the wire bytes into a big-endian number in
// a register (beBits) rather than reordering them into a buffer for the
// type's codec: a buffer passed to a function value escapes, and that
// was one allocation per point per poll.
func registerDecoder(pt *Point) func(wire []byte) float64 {
	vt := types[pt.Type]
	n, scale, offset := 2*vt.words, pt.Scale, pt.Offset
	if scale == 0 {
		scale = 1
	}
	conv, swap := fromBits[pt.Type], wireSwaps[pt.Order]
	return func(wire []byte) float64 {
		return conv(beBits(wire[:n], swap))*scale + offset
	}
}

// fromBits decodes each type from its big-endian number (the low 16, 32
// or 64 bits of u): the same as the types' decode, without a buffer.
var fromBits = map[string]func(u uint64) float64{
	"u16":   func(u uint64) float64 { return float64(uint16(u)) },
	"i16":   func(u uint64) float64 { return float64(int16(uint16(u))) },
	"u32":   func(u uint64) float64 { return float64(uint32(u)) },
	"i32":   func(u uint64) float64 { return float64(int32(uint32(u))) },
	"f32":   func(u uint64) float64 { return float64(math.Float32frombits(uint32(u))) },
	"u64":   func(u uint64) float64 { return float64(u) },
	"i64":   func(u uint64) float64 { return float64(int64(u)) },
	"bcd16": func(u uint64) float64 { return decodeBCD(uint16(u)) },
	"f64":   math.Float64frombits,
}

// wireSwaps maps an order to the index transform beBits applies: byte i of
// the big-endian value is wire byte i^byteSwap of word (i/2)… per order.
var wireSwaps = map[string]wireSwap{
	"ABCD": {},
	"BADC": {bytes: true},
	"CDAB": {words: true},
	"DCBA": {bytes: true, words: true},
}

// wireSwap says whether the bytes of each register and the order of the
// registers are swapped on the wire (DCBA is both).
type wireSwap struct{ bytes, words bool }

// beBits returns the big-endian number wire carries in order swap (wire
// is 2, 4 or 8 bytes).
func beBits(wire []byte, swap wireSwap) uint64 {
	n := len(wire)
	var u uint64
	for i := range n {
		j := i
		if swap.words {
			j = n - 2 - i&^1 + i&1
		}
		if swap.bytes {
			j ^= 1
		}
		u = u<<8 | uint64(wire[j])
	}
	return u
}

// EncodeValue returns the registers that carry the engineering value v of
// pt, in wire order: the inverse of decoding (raw = (v − offset) / scale,
// rounded for integer types). A bit point encodes to one word, 0 or 1.
// Values outside the type's range are an error.
func EncodeValue(pt *Point, v float64) ([]uint16, error) {
	if pt.Type == "bit" {
		if v != 0 && v != 1 {
			return nil, fmt.Errorf("point %q: bit value %v is not 0 or 1", pt.Name, v)
		}
		return []uint16{uint16(v)}, nil
	}
	vt, ok := types[pt.Type]
	re, ok2 := orders[pt.Order]
	if !ok || !ok2 {
		return nil, fmt.Errorf("point %q: unknown type %q or order %q", pt.Name, pt.Type, pt.Order)
	}
	raw, err := rawValue(pt, vt, v)
	if err != nil {
		return nil, err
	}
	var be, wire [8]byte
	n := 2 * vt.words
	vt.encode(be[:n], raw)
	re(wire[:n], be[:n])
	out := make([]uint16, vt.words)
	for i := range out {
		out[i] = binary.BigEndian.Uint16(wire[2*i:])
	}
	return out, nil
}

// rawValue converts an engineering value to the raw number of pt's type.
func rawValue(pt *Point, vt valueType, v float64) (float64, error) {
	scale := pt.Scale
	if scale == 0 {
		scale = 1
	}
	raw := (v - pt.Offset) / scale
	if vt.float {
		if math.IsNaN(raw) || math.IsInf(raw, 0) {
			return raw, nil
		}
	} else {
		raw = math.Round(raw)
	}
	if math.IsNaN(raw) || raw < vt.min || raw > vt.max {
		return 0, fmt.Errorf("point %q: value %v (raw %v) is out of range of %s", pt.Name, v, raw, pt.Type)
	}
	return raw, nil
}

// DecodeValue returns the engineering value of pt carried by words (wire
// order, as many as the type is wide): the inverse of EncodeValue. It
// chooses its decoder on every call; plans are for the hot path.
func DecodeValue(pt *Point, words []uint16) (float64, error) {
	if pt.Type == "bit" {
		if len(words) < 1 {
			return 0, fmt.Errorf("point %q: no value", pt.Name)
		}
		return float64(words[0] & 1), nil
	}
	vt, ok := types[pt.Type]
	if _, ok2 := orders[pt.Order]; !ok || !ok2 {
		return 0, fmt.Errorf("point %q: unknown type %q or order %q", pt.Name, pt.Type, pt.Order)
	}
	if len(words) < vt.words {
		return 0, fmt.Errorf("point %q: %d registers, a %s needs %d", pt.Name, len(words), pt.Type, vt.words)
	}
	wire := make([]byte, 2*vt.words)
	for i := range vt.words {
		binary.BigEndian.PutUint16(wire[2*i:], words[i])
	}
	return registerDecoder(pt)(wire), nil
}

// Width returns the number of registers (or bits, for type bit) the point
// occupies.
func (pt *Point) Width() int { return pt.width() }
