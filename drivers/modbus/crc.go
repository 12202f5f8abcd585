package modbus

// crcTable is the CRC-16/Modbus table (reflected polynomial 0xA001).
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xA001
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return t
}()

// CRC16 returns the CRC-16/Modbus of b (initial value 0xFFFF, reflected
// polynomial 0xA001). On the wire it follows the frame low byte first.
func CRC16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, x := range b {
		crc = crc>>8 ^ crcTable[byte(crc)^x]
	}
	return crc
}

// AppendCRC appends the CRC-16/Modbus of b to b, low byte first.
func AppendCRC(b []byte) []byte {
	crc := CRC16(b)
	return append(b, byte(crc), byte(crc>>8))
}
