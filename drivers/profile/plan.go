package profile

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Protocol limits of one read (Modbus application protocol v1.1b3, 6.1–6.4).
const (
	maxRegisters = 125  // FC 3 and 4
	maxBits      = 2000 // FC 1 and 2
	defaultGap   = 8
)

// DefaultPoll is a point's poll interval when neither the point nor its
// profile sets one: alarm/status words every second (DESIGN.md §8.1).
const DefaultPoll = time.Second

// PlanOptions tunes Compile. The zero value gives the defaults.
type PlanOptions struct {
	// MaxGap is how many unused registers (or bits) between two points may
	// be read through to save a request: 0 means the profile's max_gap,
	// else 8; a negative value 0 (for devices that answer exception 02 on
	// unmapped registers).
	MaxGap int
	// MaxRead caps the registers (or bits) of one read below the profile's
	// max_read and the protocol limit; 0 adds no cap.
	MaxRead int
	// Poll, when > 0, reads every point at this one interval instead of
	// the points' and the profile's own (a device's poll: in the gateway
	// config): the plan then has a single group.
	Poll time.Duration
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
	Profile string
	// Requests are the plan's reads, group by group (fastest group first).
	Requests []Request
	// Groups are the reads made at one interval, fastest first. A plan
	// with readable points has at least one.
	Groups []Group
	points []planPoint
}

// Group is the requests of a plan that are read at one interval:
// Requests[First:End].
type Group struct {
	Interval   time.Duration
	First, End int
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
// each point's decoder once. Points are grouped by poll interval (the
// point's poll:, else the profile's, else [DefaultPoll]; opts.Poll
// overrides them all), then per function code, sorted by address, and
// joined greedily while the hole between them is at most MaxGap and the
// read stays within the limit (125 registers / 2000 bits, the profile's
// max_read, opts.MaxRead).
//
// Points of different intervals are never joined into one read, even
// across a small hole: joining would read the slower points at the faster
// rate, 2 bytes (about 2 ms at 9600 baud) per register on every fast poll,
// while a read of its own costs one transaction (about 25 ms: request,
// reply header, two t3.5 gaps) per slow poll. For a 5 s block beside a
// 1 s read, joining costs 2.3 ms × n per second against 5 ms + 0.46 ms × n
// for its own read: the separate read is cheaper from 3 registers on, and
// more so for the 60 s and 10 min blocks; the plan also stays predictable.
//
// Example, smoke-detector with the defaults and one interval: registers
// 0–6 (status … alarm_threshold), 16 (alarm), 20–21 (serial), 22
// (fw_version) and the write-only command at 32. The hole 7–15 is 9
// registers, more than 8, so a second read starts at 16; the hole 17–19
// (3) is read through; 32 is never read (nor is any hole that holds a
// write-only register). The plan is fc3 @0+7, fc3 @16+7. With MaxGap 10
// it is the single read fc3 @0+23; with MaxGap -1 it is @0+7, @16+1,
// @20+3. With the shipped intervals (status words 1 s, analog values 5 s,
// battery and contamination 60 s, setpoint and identity 10 min) it is
// fc3 @0+2 and @16+1 every 1 s, @2+4 every 5 s (smoke_level and
// temperature, reading through the 60 s registers 3–4 between them), @3+2
// every 60 s, @6+1 and @20+3 every 10 min.
func Compile(p *Profile, opts PlanOptions) (*Plan, error) {
	gap := cmp.Or(opts.MaxGap, p.MaxGap)
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
	for _, iv := range p.intervals(opts.Poll) {
		first := len(plan.Requests)
		for _, fc := range []uint8{1, 2, 3, 4} {
			pts, wo := byAccess(p, fc, func(pt *Point) bool { return p.pollOf(pt, opts.Poll) == iv })
			if len(pts) == 0 {
				continue
			}
			limit := readLimit(fc, p.MaxRead, opts.MaxRead)
			if err := plan.group(fc, pts, wo, order, gap, limit); err != nil {
				return nil, fmt.Errorf("profile %q: %w", p.Name, err)
			}
		}
		plan.Groups = append(plan.Groups, Group{Interval: iv, First: first, End: len(plan.Requests)})
	}
	return plan, nil
}

// PollOf is the poll interval of pt: its own poll:, else the profile's,
// else DefaultPoll.
func (p *Profile) PollOf(pt *Point) time.Duration { return p.pollOf(pt, 0) }

// pollOf is PollOf unless override is positive.
func (p *Profile) pollOf(pt *Point, override time.Duration) time.Duration {
	for _, d := range []time.Duration{override, pt.Poll, p.Poll} {
		if d > 0 {
			return d
		}
	}
	return DefaultPoll
}

// intervals returns the distinct poll intervals of the readable points,
// fastest first.
func (p *Profile) intervals(override time.Duration) []time.Duration {
	var ivs []time.Duration
	for i := range p.Points {
		if pt := &p.Points[i]; pt.Readable() {
			if iv := p.pollOf(pt, override); !slices.Contains(ivs, iv) {
				ivs = append(ivs, iv)
			}
		}
	}
	slices.Sort(ivs)
	return ivs
}

// byAccess returns the readable points of one function code that are in
// the group (by address), and the function code's write-only points.
func byAccess(p *Profile, fc uint8, inGroup func(*Point) bool) (readable, writeOnly []*Point) {
	for i := range p.Points {
		switch pt := &p.Points[i]; {
		case pt.FC != fc:
		case pt.Readable():
			if !inGroup(pt) {
				continue
			}
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
// bytes after the byte count) into one Sample per point read, in the
// profile's point order. A nil response means Requests[i] was not read in
// this poll (its group was not due): its points are left out. A missing
// entry or a wrongly sized response is an error.
func (plan *Plan) Decode(responses [][]byte) ([]Sample, error) {
	return plan.DecodeInto(nil, responses)
}

// DecodeInto is Decode into dst's storage when it is large enough (a bus
// owner reuses one buffer per device: a sweep then allocates nothing).
func (plan *Plan) DecodeInto(dst []Sample, responses [][]byte) ([]Sample, error) {
	if len(responses) != len(plan.Requests) {
		return nil, fmt.Errorf("profile %q: %d responses for %d requests", plan.Profile, len(responses), len(plan.Requests))
	}
	for i, r := range plan.Requests {
		if got, want := len(responses[i]), r.ResponseSize(); responses[i] != nil && got != want {
			return nil, fmt.Errorf("profile %q: %s: response has %d bytes, want %d", plan.Profile, r, got, want)
		}
	}
	out := dst[:0]
	if cap(out) < len(plan.points) {
		out = make([]Sample, len(plan.points))
	}
	out = out[:len(plan.points)] // by profile order (idx); Point "" is a point not read
	clear(out)
	for i := range plan.points {
		pp := &plan.points[i]
		resp := responses[pp.req]
		if resp == nil {
			continue
		}
		v, ok := pp.read(resp)
		if !ok {
			return nil, fmt.Errorf("profile %q: point %q: response too short", plan.Profile, pp.name)
		}
		out[pp.idx] = Sample{Point: pp.name, Value: v, Unit: pp.unit, Absent: isAbsent(v, pp.absent)}
	}
	n := 0
	for i := range out {
		if out[i].Point != "" {
			out[n] = out[i]
			n++
		}
	}
	return out[:n], nil
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

// Interval returns how often Requests[i] is read.
func (plan *Plan) Interval(i int) time.Duration {
	for _, g := range plan.Groups {
		if i >= g.First && i < g.End {
			return g.Interval
		}
	}
	return 0
}

// String lists the requests, their interval and their points, one per
// line, for `fenghuo config check --print`: "fc3 @0+2 every 1s: status,
// fault_detail".
func (plan *Plan) String() string {
	var b strings.Builder
	for i, r := range plan.Requests {
		fmt.Fprintf(&b, "%s every %s: %s\n", r, ShortDuration(plan.Interval(i)), strings.Join(plan.Points(i), ", "))
	}
	return b.String()
}

// ShortDuration formats d without zero units: 1s, 500ms, 1m, 10m, 1h30m.
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
