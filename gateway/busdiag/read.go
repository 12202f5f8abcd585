package busdiag

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbus"
	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
)

// This file is the bus work of `fenghuo diag read`.

// CheckRawRead validates a raw read; a problem is an api.Reject.
func CheckRawRead(slave, fc, addr, count int) error {
	if slave < 1 || slave > 247 {
		return api.Reject("slave %d is out of range 1..247", slave)
	}
	if fc < 1 || fc > 4 {
		return api.Reject("fc %d: want a read function code: 1 coils, 2 discrete inputs, 3 holding registers, 4 input registers", fc)
	}
	if _, err := modbus.ReadSize(uint8(fc), uint16(min(max(count, 0), 65535))); err != nil || count < 1 {
		return api.Reject("count %d is out of range for fc%d (1..125 registers, 1..2000 bits)", count, fc)
	}
	if addr < 0 || addr+count > 65536 {
		return api.Reject("addr %d + count %d goes past register 65535", addr, count)
	}
	return nil
}

// ReadRaw reads count registers (or bits) of fc from addr of slave, as
// one job of run: the raw words, and for fc 3/4 each pair from addr in
// the four word/byte orders. A failed request is reported in the result
// (Error, Exception); an error is the runner's (the bus owner stopped).
func ReadRaw(ctx context.Context, run Runner, bus string, slave, fc, addr, count int) (api.ReadResult, error) {
	var res api.ReadResult
	err := run(ctx, func(ctx context.Context, tr transport.Transport) error {
		res = readRaw(ctx, tr, bus, slave, fc, addr, count)
		return nil
	})
	return res, err
}

func readRaw(ctx context.Context, tr transport.Transport, bus string, slave, fc, addr, count int) api.ReadResult {
	res := api.ReadResult{Bus: bus, Slave: slave}
	b := readBlock(ctx, tr, slave, profile.Request{FC: uint8(fc), Address: uint16(addr), Count: uint16(count)})
	res.Blocks = []api.Block{b}
	res.Error, res.Exception = b.Error, b.Exception
	for i := 0; i+1 < len(b.Registers); i += 2 {
		pair := [2]uint16{b.Registers[i], b.Registers[i+1]}
		res.Pairs = append(res.Pairs, api.Pair{Address: addr + i, Registers: pair, Orders: fourOrders(pair)})
	}
	return res
}

// ReadDevice reads a configured device's points (all readable ones, or
// only point) with its profile's plan, as one job of run, and decodes
// them as the poller does.
func ReadDevice(ctx context.Context, run Runner, dev config.Device, p *profile.Profile, point string) (api.ReadResult, error) {
	var res api.ReadResult
	err := run(ctx, func(ctx context.Context, tr transport.Transport) error {
		var err error
		res, err = readDevice(ctx, tr, dev, p, point)
		return err
	})
	return res, err
}

func readDevice(ctx context.Context, tr transport.Transport, dev config.Device, p *profile.Profile, point string) (api.ReadResult, error) {
	reqs, pts, err := devicePlan(p, point)
	if err != nil {
		return api.ReadResult{}, err
	}
	res := api.ReadResult{Bus: dev.Bus, Slave: dev.Slave, Device: dev.ID, Profile: p.Name}
	for _, r := range reqs {
		b := readBlock(ctx, tr, dev.Slave, r)
		res.Blocks = append(res.Blocks, b)
		if b.Error != "" {
			res.Error, res.Exception = b.Error, b.Exception
			return res, nil
		}
	}
	for _, pt := range pts {
		res.Points = append(res.Points, decodePoint(pt, res.Blocks))
	}
	return res, nil
}

// CheckDeviceRead validates a device read of point ("": all readable
// points) against the profile; a problem is an api.Reject.
func CheckDeviceRead(p *profile.Profile, point string) error {
	_, _, err := devicePlan(p, point)
	return err
}

// devicePlan is the requests and points of a device read.
func devicePlan(p *profile.Profile, point string) ([]profile.Request, []*profile.Point, error) {
	if point != "" {
		pt := p.Point(point)
		if pt == nil {
			var names []string
			for _, q := range p.Points {
				names = append(names, q.Name)
			}
			return nil, nil, api.Reject("profile %s has no point %q (points: %s)", p.Name, point, strings.Join(names, ", "))
		}
		if !pt.Readable() {
			return nil, nil, api.Reject("point %q of profile %s is write-only (a command register)", point, p.Name)
		}
		return []profile.Request{{FC: pt.FC, Address: uint16(pt.Address), Count: uint16(pt.Width())}}, []*profile.Point{pt}, nil
	}
	plan, err := profile.Compile(p, profile.PlanOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("profile %s: %w", p.Name, err)
	}
	var pts []*profile.Point
	for i := range p.Points {
		if p.Points[i].Readable() {
			pts = append(pts, &p.Points[i])
		}
	}
	return plan.Requests, pts, nil
}

// readBlock sends one read and records its answer.
func readBlock(ctx context.Context, tr transport.Transport, slave int, r profile.Request) api.Block {
	b := api.Block{FC: int(r.FC), Address: int(r.Address), Count: int(r.Count)}
	if tr == nil {
		b.Error = "the bus is not open (see the daemon's log)"
		return b
	}
	start := time.Now()
	data, err := tr.Read(ctx, uint8(slave), r.FC, r.Address, r.Count)
	b.LatencyMS = millis(time.Since(start))
	if err != nil {
		b.Error = fmt.Sprintf("slave %d fc%d @%d+%d: %v", slave, r.FC, r.Address, r.Count, err)
		b.Exception = exceptionOf(err)
		return b
	}
	if r.FC == 1 || r.FC == 2 {
		b.Bits = make([]bool, r.Count)
		for i := range b.Bits {
			b.Bits[i] = data[i/8]&(1<<(i%8)) != 0
		}
		return b
	}
	b.Registers = make([]uint16, r.Count)
	for i := range b.Registers {
		b.Registers[i] = binary.BigEndian.Uint16(data[2*i:])
	}
	return b
}

// exceptionOf is the Modbus exception err carries, or nil.
func exceptionOf(err error) *api.Exception {
	var ex *modbus.Exception
	if !errors.As(err, &ex) {
		return nil
	}
	return &api.Exception{Code: int(ex.Code), Name: ex.Name()}
}

// decodePoint takes pt's registers out of the blocks read and decodes them.
func decodePoint(pt *profile.Point, blocks []api.Block) api.PointValue {
	pv := api.PointValue{Name: pt.Name, FC: int(pt.FC), Address: pt.Address, Type: pt.Type, Unit: pt.Unit}
	if pt.Width() == 2 || pt.Type == "u16" || pt.Type == "i16" {
		pv.Order = pt.Order
	}
	words, ok := wordsOf(pt, blocks)
	if !ok {
		pv.Value = api.Float(math.NaN())
		return pv
	}
	pv.Registers = words
	v, err := profile.DecodeValue(pt, words)
	if err != nil {
		v = math.NaN()
	}
	pv.Value = api.Float(v)
	for _, s := range pt.Absent {
		if math.Abs(v-s) <= 1e-6*math.Max(1, math.Abs(s)) {
			pv.Absent = true
		}
	}
	if len(pt.Bits) > 0 && len(words) == 1 {
		bits := make([]int, 0, len(pt.Bits))
		for bit := range pt.Bits {
			bits = append(bits, bit)
		}
		sort.Ints(bits)
		for _, bit := range bits {
			if words[0]&(1<<bit) != 0 {
				pv.SetBits = append(pv.SetBits, fmt.Sprintf("bit%d %s", bit, pt.Bits[bit]))
			}
		}
	}
	if len(words) == 2 {
		pv.Orders = fourOrders([2]uint16{words[0], words[1]})
	}
	return pv
}

// wordsOf finds pt's registers (or its bit, as 0/1) in the blocks.
func wordsOf(pt *profile.Point, blocks []api.Block) ([]uint16, bool) {
	w := pt.Width()
	for _, b := range blocks {
		off := pt.Address - b.Address
		if b.FC != int(pt.FC) || off < 0 || off+w > b.Count {
			continue
		}
		if pt.Type == "bit" {
			if off >= len(b.Bits) {
				return nil, false
			}
			if b.Bits[off] {
				return []uint16{1}, true
			}
			return []uint16{0}, true
		}
		if off+w > len(b.Registers) {
			return nil, false
		}
		return b.Registers[off : off+w], true
	}
	return nil, false
}

// fourOrders decodes a register pair in the orders ABCD, CDAB, BADC, DCBA
// (A is the first register's high byte on the wire).
func fourOrders(r [2]uint16) []api.OrderValue {
	a, b, c, d := byte(r[0]>>8), byte(r[0]), byte(r[1]>>8), byte(r[1])
	out := make([]api.OrderValue, 0, 4)
	for _, o := range []struct {
		name  string
		bytes [4]byte
	}{{"ABCD", [4]byte{a, b, c, d}}, {"CDAB", [4]byte{c, d, a, b}}, {"BADC", [4]byte{b, a, d, c}}, {"DCBA", [4]byte{d, c, b, a}}} {
		u := binary.BigEndian.Uint32(o.bytes[:])
		out = append(out, api.OrderValue{Order: o.name, U32: u, I32: int32(u), F32: api.Float(math.Float32frombits(u))})
	}
	return out
}
