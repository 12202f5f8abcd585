package sim

import "encoding/binary"

// Exception codes the simulator answers with.
const (
	excIllegalFunction = 0x01
	excIllegalAddress  = 0x02
	excIllegalValue    = 0x03
)

// handle answers one request PDU (function code + data) with a response
// PDU. Addresses outside the span of the table's points are exception 02;
// holes inside the span read as 0 (so a plan may read through them).
func (d *Device) handle(req []byte) []byte {
	if len(req) < 1 {
		return nil
	}
	fc := req[0]
	d.mu.Lock()
	defer d.mu.Unlock()
	switch fc {
	case 1, 2:
		return d.readBits(fc, req)
	case 3, 4:
		return d.readRegisters(fc, req)
	case 6:
		return d.writeSingle(req)
	case 16:
		return d.writeMultiple(req)
	}
	return exception(fc, excIllegalFunction)
}

func exception(fc, code byte) []byte { return []byte{fc | 0x80, code} }

// inSpan reports whether [addr, addr+count) lies in table fc's span.
func (d *Device) inSpan(fc byte, addr, count int) bool {
	s := d.span[fc-1]
	return s[0] >= 0 && addr >= s[0] && addr+count <= s[1]
}

// addrCount parses the address and quantity of a request.
func addrCount(req []byte) (int, int, bool) {
	if len(req) != 5 {
		return 0, 0, false
	}
	return int(binary.BigEndian.Uint16(req[1:])), int(binary.BigEndian.Uint16(req[3:])), true
}

func (d *Device) readBits(fc byte, req []byte) []byte {
	addr, count, ok := addrCount(req)
	if !ok || count < 1 || count > 2000 {
		return exception(fc, excIllegalValue)
	}
	if !d.inSpan(fc, addr, count) {
		return exception(fc, excIllegalAddress)
	}
	n := (count + 7) / 8
	resp := make([]byte, 2+n)
	resp[0], resp[1] = fc, byte(n)
	for i := range count {
		if d.tables[fc-1][uint16(addr+i)] != 0 {
			resp[2+i/8] |= 1 << (i % 8)
		}
	}
	return resp
}

func (d *Device) readRegisters(fc byte, req []byte) []byte {
	addr, count, ok := addrCount(req)
	if !ok || count < 1 || count > 125 {
		return exception(fc, excIllegalValue)
	}
	if !d.inSpan(fc, addr, count) {
		return exception(fc, excIllegalAddress)
	}
	resp := make([]byte, 2+2*count)
	resp[0], resp[1] = fc, byte(2*count)
	for i := range count {
		binary.BigEndian.PutUint16(resp[2+2*i:], d.tables[fc-1][uint16(addr+i)])
	}
	return resp
}

// writable reports whether every holding register in [addr, addr+count)
// belongs to a writable point.
func (d *Device) writable(addr, count int) bool {
	for a := addr; a < addr+count; a++ {
		if a > 0xFFFF || !d.wr[2][uint16(a)] {
			return false
		}
	}
	return true
}

func (d *Device) writeSingle(req []byte) []byte {
	addr, value, ok := addrCount(req)
	if !ok {
		return exception(6, excIllegalValue)
	}
	if !d.writable(addr, 1) {
		return exception(6, excIllegalAddress)
	}
	d.tables[2][uint16(addr)] = uint16(value)
	d.commandWritten(addr, 1)
	d.afterChange()
	return append([]byte(nil), req...)
}

func (d *Device) writeMultiple(req []byte) []byte {
	if len(req) < 6 {
		return exception(16, excIllegalValue)
	}
	addr, count, _ := addrCount(req[:5])
	if count < 1 || count > 123 || int(req[5]) != 2*count || len(req) != 6+2*count {
		return exception(16, excIllegalValue)
	}
	if !d.writable(addr, count) {
		return exception(16, excIllegalAddress)
	}
	for i := range count {
		d.tables[2][uint16(addr+i)] = binary.BigEndian.Uint16(req[6+2*i:])
	}
	d.commandWritten(addr, count)
	d.afterChange()
	return append([]byte(nil), req[:5]...)
}
