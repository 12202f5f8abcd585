package profile

import (
	"testing"
)

// fuzzProfile has a point of every type in every order, and bits, so one
// fuzz input exercises every decoder.
const fuzzProfile = `name: fuzz
category: electrical
points:
  - {name: s, address: 0, bits: {0: a, 15: b}}
  - {name: i16, address: 1, type: i16, order: BADC, scale: 0.1, absent: [-1]}
  - {name: u32, address: 2, type: u32, order: CDAB, scale: 0.001}
  - {name: i32, address: 4, type: i32, order: DCBA, offset: -40}
  - {name: f32a, address: 6, type: f32, absent: [-200]}
  - {name: f32b, address: 8, type: f32, order: CDAB}
  - {name: f32c, address: 10, type: f32, order: BADC}
  - {name: f32d, address: 12, type: f32, order: DCBA}
  - {name: u64, address: 14, type: u64, order: CDAB}
  - {name: i64, address: 18, type: i64, order: BADC}
  - {name: f64, address: 22, type: f64, order: DCBA}
  - {name: far, address: 100, type: u16}
  - {name: in, fc: 4, address: 7, type: f32}
  - {name: c0, fc: 1, address: 0}
  - {name: c9, fc: 1, address: 9}
  - {name: d, fc: 2, address: 3}
`

// FuzzDecode feeds arbitrary bytes as the responses of a plan: decoding
// must never panic, and a nil error means one sample per readable point.
// The seed corpus is testdata/fuzz/FuzzDecode (made from decodeCases).
func FuzzDecode(f *testing.F) {
	p, err := Parse("fuzz.yaml", []byte(fuzzProfile))
	if err != nil {
		f.Fatal(err)
	}
	plan, err := Compile(p, PlanOptions{})
	if err != nil {
		f.Fatal(err)
	}
	for _, tc := range decodeCases {
		f.Add(unhex(f, tc.wire))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		responses := make([][]byte, len(plan.Requests))
		for i, r := range plan.Requests {
			n := min(r.ResponseSize(), len(data))
			responses[i], data = data[:n], data[n:]
		}
		samples, err := plan.Decode(responses)
		if err != nil {
			return
		}
		if len(samples) != len(p.Points) {
			t.Fatalf("%d samples for %d points", len(samples), len(p.Points))
		}
		for _, s := range samples {
			if s.Absent && !isAbsent(s.Value, p.Point(s.Point).Absent) {
				t.Fatalf("%s: absent without a sentinel: %v", s.Point, s.Value)
			}
		}
	})
}

// FuzzParse feeds arbitrary YAML to Parse: it must never panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(fuzzProfile))
	f.Add([]byte(badProfile))
	f.Add([]byte(badParams))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err == nil {
			for i := range p.Params { // a valid profile's parameters check their own defaults
				if d := p.Params[i].Default; d != nil && p.Params[i].Check(*d) != "" {
					t.Fatalf("params[%d]: default %g passed validation but fails Check", i, *d)
				}
			}
			if _, err := Compile(p, PlanOptions{}); err != nil {
				t.Logf("compile: %v", err) // e.g. a point wider than max_read
			}
		}
	})
}
