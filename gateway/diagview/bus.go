package diagview

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
)

// Read prints a read: a header, each request with its latency or
// error, the points decoded by the profile (device reads) or the raw
// registers (raw reads), and register pairs in the four orders.
func Read(w io.Writer, res api.ReadResult) {
	head := fmt.Sprintf("bus %s  slave %d", res.Bus, res.Slave)
	if res.Device != "" {
		head += fmt.Sprintf("  device %s  profile %s", res.Device, res.Profile)
	}
	fmt.Fprintln(w, sanitize.Line(head))
	for _, b := range res.Blocks {
		fmt.Fprintf(w, "fc%d @%d+%d: %s\n", b.FC, b.Address, b.Count, sanitize.Line(blockOutcome(b)))
	}
	if res.Error != "" {
		return
	}
	if res.Device != "" {
		renderPoints(w, res.Points)
		return
	}
	for _, b := range res.Blocks {
		renderRegisters(w, b)
	}
	if len(res.Pairs) > 0 {
		var t table
		t.add("PAIR", "REGISTERS", "ORDER", "U32", "I32", "F32")
		for _, p := range res.Pairs {
			for i, o := range p.Orders {
				pair, regs := "", ""
				if i == 0 {
					pair = fmt.Sprintf("%d-%d", p.Address, p.Address+1)
					regs = fmt.Sprintf("0x%04X 0x%04X", p.Registers[0], p.Registers[1])
				}
				t.add(pair, regs, o.Order, strconv.FormatUint(uint64(o.U32), 10), strconv.FormatInt(int64(o.I32), 10), float32Text(o.F32))
			}
		}
		fmt.Fprintln(w)
		t.write(w)
	}
}

// blockOutcome is "3.2 ms", or the exception by name, or the error.
func blockOutcome(b api.Block) string {
	switch {
	case b.Exception != nil:
		return fmt.Sprintf("exception %02d %s", b.Exception.Code, b.Exception.Name)
	case b.Error != "":
		return b.Error
	}
	return fmt.Sprintf("%.1f ms", b.LatencyMS)
}

// renderRegisters prints one block's registers (hex, unsigned, signed) or
// bits.
func renderRegisters(w io.Writer, b api.Block) {
	var t table
	fmt.Fprintln(w)
	if b.Bits != nil {
		t.add("ADDR", "BIT")
		for i, on := range b.Bits {
			v := "0"
			if on {
				v = "1"
			}
			t.add(strconv.Itoa(b.Address+i), v)
		}
		t.write(w)
		return
	}
	t.add("ADDR", "HEX", "U16", "I16")
	for i, r := range b.Registers {
		t.add(strconv.Itoa(b.Address+i), fmt.Sprintf("0x%04X", r), strconv.Itoa(int(r)), strconv.Itoa(int(int16(r))))
	}
	t.write(w)
}

// renderPoints prints a device's points as its profile decodes them, then
// its 32-bit points in the four orders.
func renderPoints(w io.Writer, pts []api.PointValue) {
	var t table
	t.add("POINT", "ADDR", "TYPE", "REGISTERS", "VALUE", "")
	var pairs []api.PointValue
	for _, p := range pts {
		addr := strconv.Itoa(p.Address)
		if n := len(p.Registers); n > 1 {
			addr = fmt.Sprintf("%d-%d", p.Address, p.Address+n-1)
		}
		var regs []string
		for _, r := range p.Registers {
			regs = append(regs, fmt.Sprintf("0x%04X", r))
		}
		if len(p.Registers) == 1 {
			regs[0] += fmt.Sprintf(" (%d)", p.Registers[0])
		}
		typ := p.Type
		if len(p.Registers) == 2 {
			typ += " " + p.Order
		}
		value := number(float64(p.Value))
		if math.IsNaN(float64(p.Value)) || math.IsInf(float64(p.Value), 0) {
			value = float32Text(p.Value)
		}
		if p.Unit != "" {
			value += " " + p.Unit
		}
		note := strings.Join(p.SetBits, ", ")
		if p.Absent {
			note = "absent (no sensor connected)"
		}
		t.add(p.Name, addr, typ, strings.Join(regs, " "), value, note)
		if len(p.Orders) > 0 {
			pairs = append(pairs, p)
		}
	}
	fmt.Fprintln(w)
	t.write(w)
	if len(pairs) > 0 {
		renderOrders(w, pairs)
	}
}

// renderOrders prints 32-bit points in the four word/byte orders, the
// profile's marked.
func renderOrders(w io.Writer, pairs []api.PointValue) {
	var o table
	o.add("POINT", "ORDER", "U32", "I32", "F32")
	for _, p := range pairs {
		for i, ov := range p.Orders {
			name, order := "", ov.Order
			if i == 0 {
				name = p.Name
			}
			if ov.Order == p.Order {
				order += " *"
			}
			o.add(name, order, strconv.FormatUint(uint64(ov.U32), 10), strconv.FormatInt(int64(ov.I32), 10), float32Text(ov.F32))
		}
	}
	fmt.Fprintln(w, "\n32-bit points in the four word/byte orders (* the profile's; raw, before scale):")
	o.write(w)
}

// Scan prints the devices a scan found and a summary line.
func Scan(w io.Writer, res api.ScanResult) {
	took := time.Duration(res.TookMS) * time.Millisecond
	if len(res.Found) == 0 {
		fmt.Fprintf(w, "no device answered on bus %s (ids %d..%d) in %s\n", res.Bus, res.From, res.To, Age(took))
		return
	}
	var t table
	t.add("SLAVE", "LATENCY", "ANSWER", "PROFILE", "CANDIDATES")
	for _, f := range res.Found {
		prof := f.Profile
		if prof == "" {
			prof = "— (no profile matched)"
		}
		t.add(strconv.Itoa(f.Slave), fmt.Sprintf("%.1f ms", f.LatencyMS), f.Answer, prof, orDash(strings.Join(f.Candidates, ", ")))
	}
	t.write(w)
	fmt.Fprintf(w, "%d %s answered on bus %s (ids %d..%d) in %s\n", len(res.Found), Plural(len(res.Found), "device"), res.Bus, res.From, res.To, Age(took))
}
