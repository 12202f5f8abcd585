package mqttlink

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// paho reads a whole PUBLISH into memory before any handler sees it, so a
// size limit in the handler comes too late: 40 commands of 10 MB cost
// 400 MB. sizeConn bounds incoming packets on the wire instead: it parses
// the MQTT fixed header of every packet the broker sends and, for a
// PUBLISH whose payload exceeds the limit, hands paho the same packet
// (topic, packet id, flags) with an empty payload while the real payload
// is read and discarded through a small buffer. paho acknowledges it as
// usual (QoS 1: the broker does not redeliver), and the link, told about
// the cut by oversize, refuses it with a reply. Other packets (CONNACK,
// SUBACK, PUBACK…) are a few bytes; one over maxControl ends the
// connection.

// maxControl bounds any packet but PUBLISH, in bytes.
const maxControl = 64 << 10

// sizeConn wraps the broker connection; only Read is changed.
type sizeConn struct {
	net.Conn
	limit int // payload bytes
	// cut is called, before paho receives the emptied packet, with its
	// topic, packet id (0 at QoS 0) and original payload size.
	cut func(topic string, id uint16, size int64)

	r    *bufio.Reader
	out  []byte // rewritten header bytes not yet read by paho
	body int64  // bytes of the current packet to pass through
	skip int64  // payload bytes to discard before the next packet
}

func newSizeConn(c net.Conn, limit int, cut func(string, uint16, int64)) *sizeConn {
	return &sizeConn{Conn: c, limit: limit, cut: cut, r: bufio.NewReaderSize(c, 4096)}
}

func (c *sizeConn) Read(p []byte) (int, error) {
	if len(c.out) == 0 && c.body == 0 {
		if err := c.next(); err != nil {
			return 0, err
		}
	}
	if len(c.out) > 0 {
		n := copy(p, c.out)
		c.out = c.out[n:]
		return n, nil
	}
	n, err := c.r.Read(p[:min(int64(len(p)), c.body)])
	c.body -= int64(n)
	return n, err
}

// next discards what is left of an oversized payload and reads the next
// packet's header into out.
func (c *sizeConn) next() error {
	for c.skip > 0 {
		n, err := c.r.Discard(int(min(c.skip, 1<<20)))
		c.skip -= int64(n)
		if err != nil {
			return err
		}
	}
	first, err := c.r.ReadByte()
	if err != nil {
		return err
	}
	rem, err := readVarint(c.r)
	if err != nil {
		return err
	}
	if first>>4 != 3 { // not PUBLISH
		if rem > maxControl {
			return fmt.Errorf("mqttlink: the broker sent a packet of type %d with %d bytes (limit %d)", first>>4, rem, maxControl)
		}
		c.out = appendHeader(c.out[:0], first, rem)
		c.body = rem
		return nil
	}
	var tl [2]byte
	if _, err := io.ReadFull(c.r, tl[:]); err != nil {
		return err
	}
	vh := 2 + int64(binary.BigEndian.Uint16(tl[:]))
	if (first>>1)&3 > 0 {
		vh += 2 // packet id
	}
	if vh > rem {
		return fmt.Errorf("mqttlink: malformed PUBLISH from the broker: variable header %d > remaining length %d", vh, rem)
	}
	size := rem - vh
	if size <= int64(c.limit) {
		c.out = append(appendHeader(c.out[:0], first, rem), tl[:]...)
		c.body = rem - 2
		return nil
	}
	hdr := make([]byte, vh-2)
	if _, err := io.ReadFull(c.r, hdr); err != nil {
		return err
	}
	topic := hdr[:binary.BigEndian.Uint16(tl[:])]
	var id uint16
	if len(hdr) > len(topic) {
		id = binary.BigEndian.Uint16(hdr[len(topic):])
	}
	c.cut(string(topic), id, size)
	c.out = append(append(appendHeader(c.out[:0], first, vh), tl[:]...), hdr...)
	c.body, c.skip = 0, size
	return nil
}

var errVarint = errors.New("mqttlink: malformed remaining length from the broker")

// readVarint reads an MQTT remaining length (at most 4 bytes).
func readVarint(r io.ByteReader) (int64, error) {
	var v int64
	for i := 0; i < 4; i++ {
		b, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		v |= int64(b&0x7f) << (7 * i)
		if b&0x80 == 0 {
			return v, nil
		}
	}
	return 0, errVarint
}

func appendHeader(b []byte, first byte, rem int64) []byte {
	b = append(b, first)
	for {
		d := byte(rem & 0x7f)
		rem >>= 7
		if rem > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if rem == 0 {
			return b
		}
	}
}

// cutNotes remembers the publishes sizeConn emptied until the handler
// asks: a few, the oldest forgotten first.
type cutNotes struct {
	mu    sync.Mutex
	notes []cutNote
}

type cutNote struct {
	topic string
	id    uint16
	size  int64
}

const maxCutNotes = 64

func (n *cutNotes) add(topic string, id uint16, size int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.notes) >= maxCutNotes {
		n.notes = n.notes[1:]
	}
	n.notes = append(n.notes, cutNote{topic, id, size})
}

// take returns the original size of an emptied publish, or 0.
func (n *cutNotes) take(topic string, id uint16) int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, c := range n.notes {
		if c.topic == topic && c.id == id {
			n.notes = append(n.notes[:i], n.notes[i+1:]...)
			return c.size
		}
	}
	return 0
}
