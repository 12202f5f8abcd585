package ticket

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

// crockford is the Crockford base32 alphabet used by ULIDs.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewEventID returns a fresh 26-character ULID: 48 bits of milliseconds
// since the Unix epoch followed by 80 random bits, so ids sort roughly by
// creation time and never repeat in practice.
func NewEventID(t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	binary.BigEndian.PutUint16(b[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(b[2:6], uint32(ms))
	if _, err := rand.Read(b[6:]); err != nil {
		panic("ticket: crypto/rand failed: " + err.Error()) // rand.Read never fails on supported platforms
	}
	return encodeULID(b)
}

// encodeULID writes 128 bits as 26 base32 digits (the first holds 3 bits).
func encodeULID(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
