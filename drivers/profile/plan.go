package profile

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Protocol limits of one read (Modbus application protocol v1.1b3, 6.1–6.4).
const (
	maxRegisters = 125  // FC 3 and 4
	maxBits      = 2000 // FC 1 and 2
	defaultGap   = 8
)

// PlanOptions tunes Compile. The zero value gives the defaults.
type PlanOptions struct {
	// MaxGap is how many unused registers (or bits) between two points may
	// be read through to save a request: 0 means 8, a negative value 0
	// (for devices that answer exception 02 on unmapped registers).
	MaxGap int
	// MaxRead caps the registers (or bits) of one read below the profile's
	// max_read and the protocol limit; 0 adds no cap.
	MaxRead int
}

// Request is one read of a plan.
type Request struct {
	FC      uint8
	Address uint16
	Count   uint16 // registers for fc 3/4, bits for fc 1/2
}

// String returns "fc3 @16+7".
func (r Request) String() string { return fmt.Sprintf("fc%d @%d+%d", r.FC, r.Address, r.Count) }

// Sample is one decoded value of one point.
type Sample struct {
	Point  string
	Value  float64 // engineering value (raw × scale + offset); 0/1 for bits
	Unit   string
	Absent bool // Value is one of the point's absent sentinels
}

// Plan is a compiled profile: the reads that cover its readable points and
// one decoder per point. It is immutable and safe for concurrent use.
type Plan struct {
	Profile  string
	Requests []Request
	points   []planPoint
}

// planPoint is one readable point bound to its place in a response.
type planPoint struct {
	name   string
	unit   string
	req    int
	idx    int // position of the point among the readable points, in profile order
	absent []float64
	// read decodes the point from its request's response; false when the
	// response is too short.
	read func(resp []byte) (float64, bool)
}

// Compile plans the reads of p's readable points (access r or rw) and picks
// each point's decoder once. Points are grouped per function code, sorted
// by address, and joined greedily while the hole between them is at most
// MaxGap and the read stays within the limit (125 registers / 2000 bits,
// the profile's max_read, opts.MaxRead).
//
// Example, smoke-detector with the defaults: registers 0–6 (status …
// alarm_threshold), 16 (alarm), 20–21 (serial), 22 (fw_version) and the
// write-only command at 32. The hole 7–15 is 9 registers, more than 8, so
// a second read starts at 16; the hole 17–19 (3) is read through; 32 is
// never read (nor is any hole that holds a write-only register). The plan
// is fc3 @0+7, fc3 @16+7. With MaxGap 10 it is the
// single read fc3 @0+23; with MaxGap -1 it is @0+7, @16+1, @20+3.
func Compile(p *Profile, opts PlanOptions) (*Plan, error) {
	gap := opts.MaxGap
	if gap == 0 {
		gap = defaultGap
	} else if gap < 0 {
		gap = 0
	}
	plan := &Plan{Profile: p.Name}
	order := map[*Point]int{}
	for i := range p.Points {
		if p.Points[i].Readable() {
			order[&p.Points[i]] = len(order)
		}
	}
	for _, fc := range []uint8{1, 2, 3, 4} {
		pts, wo := byAccess(p, fc)
		if len(pts) == 0 {
			continue
		}
		limit := readLimit(fc, p.MaxRead, opts.MaxRead)
		if err := plan.group(fc, pts, wo, order, gap, limit); err != nil {
			return nil, fmt.Errorf("profile %q: %w", p.Name, err)
		}
	}
	return plan, nil
}

// byAccess returns the readable points of one function code, by address,
// and its write-only points.
func byAccess(p *Profile, fc uint8) (readable, writeOnly []*Point) {
	for i := range p.Points {
		switch pt := &p.Points[i]; {
		case pt.FC != fc:
		case pt.Readable():
			readable = append(readable, pt)
		default:
			writeOnly = append(writeOnly, pt)
		}
	}
	sort.SliceStable(readable, func(a, b int) bool { return readable[a].Address < readable[b].Address })
	return readable, writeOnly
}

// writeOnlyIn reports whether a write-only point overlaps the hole [from, to).
func writeOnlyIn(wo []*Point, from, to int) bool {
	for _, pt := range wo {
		if pt.Address < to && pt.Address+pt.width() > from {
			return true
		}
	}
	return false
}

// readLimit is the smallest positive of the protocol, profile and option caps.
func readLimit(fc uint8, caps ...int) int {
	limit := maxRegisters
	if fc == 1 || fc == 2 {
		limit = maxBits
	}
	for _, c := range caps {
		if c > 0 && c < limit {
			limit = c
		}
	}
	return limit
}

// group appends the requests for pts (one function code, sorted) and binds
// each point to its request.
// A hole holding a write-only register (a command) is never read through.
func (plan *Plan) group(fc uint8, pts, wo []*Point, order map[*Point]int, gap, limit int) error {
	start, end := -1, -1
	for _, pt := range pts {
		w := pt.width()
		if w > limit {
			return fmt.Errorf("point %q: %d registers exceed the read limit %d", pt.Name, w, limit)
		}
		newEnd := max(end, pt.Address+w)
		if start < 0 || pt.Address-end > gap || newEnd-start > limit || writeOnlyIn(wo, end, pt.Address) {
			if start >= 0 {
				plan.closeRequest(fc, start, end)
			}
			start, newEnd = pt.Address, pt.Address+w
		}
		end = newEnd
		pp, err := bind(pt, len(plan.Requests), pt.Address-start)
		if err != nil {
			return err
		}
		pp.idx = order[pt]
		plan.points = append(plan.points, pp)
	}
	plan.closeRequest(fc, start, end)
	return nil
}

func (plan *Plan) closeRequest(fc uint8, start, end int) {
	plan.Requests = append(plan.Requests, Request{FC: fc, Address: uint16(start), Count: uint16(end - start)})
}

// bind builds the point's decoder for offset registers (or bits) into
// request req.
func bind(pt *Point, req, offset int) (planPoint, error) {
	pp := planPoint{name: pt.Name, unit: pt.Unit, req: req, absent: pt.Absent}
	if pt.Type == "bit" {
		byteAt, mask := offset/8, byte(1)<<(offset%8)
		pp.read = func(resp []byte) (float64, bool) {
			if byteAt >= len(resp) {
				return 0, false
			}
			if resp[byteAt]&mask != 0 {
				return 1, true
			}
			return 0, true
		}
		return pp, nil
	}
	if _, ok := types[pt.Type]; !ok {
		return pp, fmt.Errorf("point %q: unknown type %q", pt.Name, pt.Type)
	}
	if _, ok := orders[pt.Order]; !ok {
		return pp, fmt.Errorf("point %q: unknown order %q", pt.Name, pt.Order)
	}
	dec, from, to := registerDecoder(pt), 2*offset, 2*(offset+pt.width())
	pp.read = func(resp []byte) (float64, bool) {
		if to > len(resp) {
			return 0, false
		}
		return dec(resp[from:to]), true
	}
	return pp, nil
}

// ResponseSize returns the bytes a response to r carries after the byte
// count: 2 per register, or 1 per 8 bits.
func (r Request) ResponseSize() int {
	if r.FC == 1 || r.FC == 2 {
		return (int(r.Count) + 7) / 8
	}
	return 2 * int(r.Count)
}

// Decode turns the responses (responses[i] answers Requests[i], the data
// bytes after the byte count) into one Sample per readable point, in the
// profile's point order. A missing or wrongly sized response is an error.
func (plan *Plan) Decode(responses [][]byte) ([]Sample, error) {
	if len(responses) != len(plan.Requests) {
		return nil, fmt.Errorf("profile %q: %d responses for %d requests", plan.Profile, len(responses), len(plan.Requests))
	}
	for i, r := range plan.Requests {
		if got, want := len(responses[i]), r.ResponseSize(); got != want {
			return nil, fmt.Errorf("profile %q: %s: response has %d bytes, want %d", plan.Profile, r, got, want)
		}
	}
	out := make([]Sample, len(plan.points))
	for i := range plan.points {
		pp := &plan.points[i]
		v, ok := pp.read(responses[pp.req])
		if !ok {
			return nil, fmt.Errorf("profile %q: point %q: response too short", plan.Profile, pp.name)
		}
		out[pp.idx] = Sample{Point: pp.name, Value: v, Unit: pp.unit, Absent: isAbsent(v, pp.absent)}
	}
	return out, nil
}

// isAbsent compares v with the sentinels, allowing for float rounding of
// scaled values.
func isAbsent(v float64, sentinels []float64) bool {
	for _, s := range sentinels {
		if math.Abs(v-s) <= 1e-6*math.Max(1, math.Abs(s)) {
			return true
		}
	}
	return false
}

// Points returns the names of the points read by Requests[i].
func (plan *Plan) Points(i int) []string {
	var names []string
	for _, pp := range plan.points {
		if pp.req == i {
			names = append(names, pp.name)
		}
	}
	return names
}

// String lists the requests and their points, one per line, for
// `fenghuo config check --print`.
func (plan *Plan) String() string {
	var b strings.Builder
	for i, r := range plan.Requests {
		fmt.Fprintf(&b, "%s: %s\n", r, strings.Join(plan.Points(i), ", "))
	}
	return b.String()
}
