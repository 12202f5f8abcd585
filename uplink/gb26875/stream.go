package gb26875

import (
	"bytes"
	"fmt"
	"io"
)

// bufSize bounds a Decoder's buffer: two of the largest frames, so a whole
// frame always fits after the buffer is compacted.
const bufSize = 2 * MaxFrameLen

// Decoder finds frames in a byte stream (a TCP connection) by their own
// length field: frames split across reads or glued together, and bytes
// before "@@" are skipped. Its buffer never grows past 2 × 1054 bytes.
//
// A frame the receiver must deny comes back as a *FrameError (see DenyFor),
// and decoding goes on with the next frame:
//   - bad checksum or unknown command: the frame's own length is trusted and
//     the whole frame is dropped;
//   - over-length field or no "##" where the length says: the length is not
//     trusted, and the search for "@@" resumes one byte after this start.
//
// A Decoder waits (in Read) for the bytes its length field promises; set a
// read deadline on the connection to bound that wait.
type Decoder struct {
	r       io.Reader
	buf     []byte
	start   int // first unconsumed byte
	end     int // end of buffered bytes
	raw     []byte
	skipped uint64
	err     error // a sticky read error, returned once the buffer is drained
}

// NewDecoder reads frames from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: r, buf: make([]byte, bufSize)}
}

// Raw is the bytes of the frame the last Next returned (or failed on); it
// is valid until the next call to Next.
func (d *Decoder) Raw() []byte { return d.raw }

// Skipped is the number of bytes dropped so far while looking for "@@"
// (garbage, and the start of frames that failed with ErrLength or ErrEnd).
func (d *Decoder) Skipped() uint64 { return d.skipped }

// Buffered is the number of bytes read but not yet decoded.
func (d *Decoder) Buffered() int { return d.end - d.start }

// Next returns the next frame. A *FrameError is a frame to deny; any other
// error comes from the reader (io.EOF at a clean end, io.ErrUnexpectedEOF
// when the stream ends inside a frame). The returned Frame's Data is a
// copy: it stays valid after later calls.
func (d *Decoder) Next() (Frame, error) {
	d.raw = nil
	for {
		// Find "@@"; keep a trailing '@' that may be half of one.
		b := d.buf[d.start:d.end]
		i := bytes.Index(b, []byte("@@"))
		if i < 0 {
			drop := len(b)
			if drop > 0 && b[drop-1] == '@' {
				drop--
			}
			d.consume(drop, true)
			if err := d.fill(); err != nil {
				return Frame{}, err
			}
			continue
		}
		d.consume(i, true)
		if d.end-d.start < HeaderLen {
			if err := d.fill(); err != nil {
				return Frame{}, err
			}
			continue
		}
		b = d.buf[d.start:d.end]
		h, n := parseHeader(b)
		if n > MaxDataLen {
			d.raw = b[:HeaderLen]
			d.consume(1, true)
			return Frame{}, &FrameError{Err: ErrLength, Header: h, Detail: fmt.Sprintf("length field %d", n)}
		}
		total := MinFrameLen + n
		if len(b) < total {
			if err := d.fill(); err != nil {
				return Frame{}, err
			}
			continue
		}
		d.raw = b[:total]
		f, err := checkBody(b[:total], h, n)
		if err != nil {
			if fe, ok := err.(*FrameError); ok && fe.Err == ErrEnd {
				d.consume(1, true)
			} else {
				d.consume(total, false)
			}
			return Frame{}, err
		}
		f.Data = bytes.Clone(f.Data)
		d.consume(total, false)
		return f, nil
	}
}

// consume drops n buffered bytes; skip counts them as skipped.
func (d *Decoder) consume(n int, skip bool) {
	d.start += n
	if skip {
		d.skipped += uint64(n)
	}
	if d.start == d.end {
		d.start, d.end = 0, 0
	}
}

// fill reads more bytes, compacting the buffer first when its tail is full.
func (d *Decoder) fill() error {
	if d.err != nil {
		if d.err == io.EOF && d.end > d.start {
			return io.ErrUnexpectedEOF
		}
		return d.err
	}
	if d.end == len(d.buf) {
		d.end = copy(d.buf, d.buf[d.start:d.end])
		d.start = 0
	}
	for range 100 { // io.Reader may return 0, nil: bounded retries
		n, err := d.r.Read(d.buf[d.end:])
		d.end += n
		if err != nil {
			d.err = err
			if n > 0 {
				return nil
			}
			return d.fill()
		}
		if n > 0 {
			return nil
		}
	}
	d.err = io.ErrNoProgress
	return d.err
}
