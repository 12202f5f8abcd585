// Package linebudget computes the wire time an RS-485 line spends on its
// polls (issue 13, Build 3): for every read of every device on the line,
// the request and reply characters at the line's baud and framing, the
// master's silence before the request (t3.5 unless the bus says otherwise)
// and the slave's turnaround, against the interval the read is wanted at.
//
// The load is the fraction of each second the line is busy. Above
// WarnLoad the line cannot keep every interval once retries, a slow
// device or a diagnostic read come along, so Compute proposes the
// intervals it can keep: a device's first group (its status and alarm
// words, read fastest) keeps its interval while the line allows, and the
// slower groups stretch by one common factor — the same policy the bus
// scheduler follows under overload (status words first, lateness spread
// fairly over the rest).
//
// It is pure arithmetic over the compiled plans: no I/O, no clock.
package linebudget

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

// WarnLoad is the load above which `config check` warns (issue 13: 80 %).
const WarnLoad = 0.8

// DefaultTurnaround is the slave's reply delay assumed when its profile
// states none: a few milliseconds is what small Modbus slaves typically
// take between the end of a request and the first character of the reply.
const DefaultTurnaround = 5 * time.Millisecond

// Line is a serial line's framing.
type Line struct {
	Name     string
	Baud     int    // 0: 9600
	DataBits int    // 0: 8
	Parity   string // N | E | O ("" = N)
	StopBits int    // 0: 1
	// Gap is the master's silence before each request: 0 t3.5 (the
	// Modbus serial-line spec), > 0 that duration, < 0 minimal (none).
	Gap time.Duration
}

// Read is one request of a device's plan.
type Read struct {
	Device   string
	FC       uint8  // 1, 2, 3 or 4
	Count    uint16 // registers (fc 3/4) or bits (fc 1/2)
	Interval time.Duration
	// First marks a read of the device's fastest group: its status and
	// alarm words, kept on time first.
	First bool
	// Turnaround is the slave's reply delay (0: DefaultTurnaround).
	Turnaround time.Duration
}

// Cost is one read's wire time and share of the line.
type Cost struct {
	Read
	Wire time.Duration // gap + request + turnaround + reply
	Load float64       // Wire / Interval
	// Keep is the interval the line can keep for this read at WarnLoad:
	// Interval when the line is not overloaded.
	Keep time.Duration
}

// Budget is one line's account.
type Budget struct {
	Line  Line
	Char  time.Duration // one character on the wire
	Gap   time.Duration // silence before each request
	Costs []Cost
	Load  float64 // Σ Wire/Interval: 1.0 is a line busy every moment
	// FirstLoad is the part of Load spent on the devices' first groups.
	FirstLoad float64
}

// Over reports whether the line is loaded above WarnLoad.
func (b Budget) Over() bool { return b.Load > WarnLoad }

// Compute returns the budget of reads on line.
func Compute(line Line, reads []Read) (Budget, error) {
	char, err := CharTime(line)
	if err != nil {
		return Budget{}, err
	}
	b := Budget{Line: line, Char: char, Gap: gapOf(line)}
	for _, r := range reads {
		c, err := b.cost(r)
		if err != nil {
			return Budget{}, err
		}
		b.Costs = append(b.Costs, c)
		b.Load += c.Load
		if r.First {
			b.FirstLoad += c.Load
		}
	}
	b.keep()
	return b, nil
}

// cost prices one read.
func (b Budget) cost(r Read) (Cost, error) {
	if r.Interval <= 0 {
		return Cost{}, fmt.Errorf("line %s: device %s: read fc%d has no interval", b.Line.Name, r.Device, r.FC)
	}
	reply, err := replyChars(r.FC, r.Count)
	if err != nil {
		return Cost{}, fmt.Errorf("line %s: device %s: %w", b.Line.Name, r.Device, err)
	}
	turn := r.Turnaround
	if turn <= 0 {
		turn = DefaultTurnaround
	}
	wire := b.Gap + time.Duration(requestChars+reply)*b.Char + turn
	return Cost{Read: r, Wire: wire, Load: float64(wire) / float64(r.Interval), Keep: r.Interval}, nil
}

// keep sets each read's keepable interval when the line is over
// WarnLoad: the first groups keep theirs if they fit in WarnLoad with room
// to spare, and the rest stretch by one factor; if the first groups alone
// are over, every read stretches by the same factor.
func (b *Budget) keep() {
	if !b.Over() {
		return
	}
	first, rest := 1.0, b.Load/WarnLoad
	if rem := WarnLoad - b.FirstLoad; rem > 0 && b.Load-b.FirstLoad > 0 {
		rest = (b.Load - b.FirstLoad) / rem
	} else {
		first = rest
	}
	for i := range b.Costs {
		k := rest
		if b.Costs[i].First {
			k = first
		}
		b.Costs[i].Keep = roundUp(time.Duration(math.Ceil(float64(b.Costs[i].Interval)*k)), 100*time.Millisecond)
	}
}

// requestChars is a read request's RTU frame: slave, fc, address (2),
// count (2), CRC (2).
const requestChars = 8

// replyChars is a read reply's RTU frame: slave, fc, byte count, data, CRC.
func replyChars(fc uint8, count uint16) (int, error) {
	switch fc {
	case 3, 4:
		if count < 1 || count > 125 {
			return 0, fmt.Errorf("fc%d reads 1..125 registers, not %d", fc, count)
		}
		return 5 + 2*int(count), nil
	case 1, 2:
		if count < 1 || count > 2000 {
			return 0, fmt.Errorf("fc%d reads 1..2000 bits, not %d", fc, count)
		}
		return 5 + (int(count)+7)/8, nil
	}
	return 0, fmt.Errorf("fc%d is not a read function code (1..4)", fc)
}

// CharTime is one character on the line (transport.CharTime after the
// Modbus defaults 9600 8N1 fill the zero fields).
func CharTime(l Line) (time.Duration, error) {
	baud, data, stop := orInt(l.Baud, 9600), orInt(l.DataBits, 8), orInt(l.StopBits, 1)
	if baud < 300 || baud > 4_000_000 {
		return 0, fmt.Errorf("line %s: baud %d is out of range 300..4000000", l.Name, baud)
	}
	var parity bool
	switch strings.ToUpper(l.Parity) {
	case "", "N", "NONE":
	case "E", "O", "EVEN", "ODD":
		parity = true
	default:
		return 0, fmt.Errorf("line %s: parity %q (want N, E or O)", l.Name, l.Parity)
	}
	return transport.CharTime(baud, data, stop, parity), nil
}

func gapOf(l Line) time.Duration {
	switch {
	case l.Gap < 0:
		return 0
	case l.Gap == 0:
		return transport.T35(orInt(l.Baud, 9600))
	}
	return l.Gap
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func roundUp(d, to time.Duration) time.Duration {
	if r := d % to; r != 0 {
		d += to - r
	}
	return d
}

// Report is the budget as lines for `config check`: the line's load, and
// above WarnLoad a warning and, per device, the intervals the line can
// keep ("smoke-01: 1s → 1.1s, 5s → 5.6s").
func (b Budget) Report() []string {
	l := b.Line
	head := fmt.Sprintf("line %s: %d %s, load %.0f%% of the line (%d baud, %s per character, gap %s)",
		l.Name, len(b.Costs), plural(len(b.Costs), "read"), 100*b.Load, orInt(l.Baud, 9600), short(b.Char), short(b.Gap))
	if !b.Over() {
		return []string{head}
	}
	out := []string{head, fmt.Sprintf("warning: line %s is loaded above %.0f%%: it cannot keep every interval; the intervals it can keep (status words first):", l.Name, 100*WarnLoad)}
	// Devices with the same intervals kept share a line.
	var order []string
	devices := map[string][]string{}
	for _, dev := range b.devices() {
		k := b.kept(dev)
		if _, ok := devices[k]; !ok {
			order = append(order, k)
		}
		devices[k] = append(devices[k], dev)
	}
	for _, k := range order {
		ds := devices[k]
		name := ds[0]
		if len(ds) > 1 {
			name = fmt.Sprintf("%s … %s (%d devices)", ds[0], ds[len(ds)-1], len(ds))
			if len(ds) == 2 {
				name = ds[0] + ", " + ds[1]
			}
		}
		out = append(out, "  "+name+": "+k)
	}
	return out
}

// devices lists the line's devices in the order of their reads.
func (b Budget) devices() []string {
	var ds []string
	for i, c := range b.Costs {
		if i == 0 || b.Costs[i-1].Device != c.Device {
			ds = append(ds, c.Device)
		}
	}
	return ds
}

// kept is a device's intervals and what the line keeps of them: "1s →
// 2.4s, 5s → 11.7s".
func (b Budget) kept(dev string) string {
	var parts []string
	seen := map[time.Duration]bool{}
	for _, c := range b.Costs {
		if c.Device == dev && !seen[c.Interval] {
			seen[c.Interval] = true
			parts = append(parts, short(c.Interval)+" → "+short(c.Keep))
		}
	}
	return strings.Join(parts, ", ")
}

func plural(n int, w string) string {
	if n == 1 {
		return w
	}
	return w + "s"
}

// short prints a duration to 0.1 ms: "4.01ms", "1.1s".
func short(d time.Duration) string {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(10 * time.Microsecond).String()
}
