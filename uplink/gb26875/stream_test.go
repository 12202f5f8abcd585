package gb26875

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"testing"
	"testing/iotest"
)

// chunkReader returns its bytes in reads of the given sizes, cycling.
type chunkReader struct {
	b     []byte
	sizes []int
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.b), max(1, c.sizes[c.i%len(c.sizes)]))
	c.i++
	copy(p, c.b[:n])
	c.b = c.b[n:]
	return n, nil
}

type result struct {
	frame Frame
	err   error
}

// drain decodes until the reader's error, keeping frames and FrameErrors.
func drain(t *testing.T, d *Decoder) ([]result, error) {
	t.Helper()
	var out []result
	for range 10000 {
		f, err := d.Next()
		if d.Buffered() > bufSize {
			t.Fatalf("buffer %d > %d", d.Buffered(), bufSize)
		}
		var fe *FrameError
		switch {
		case err == nil:
			out = append(out, result{frame: f})
		case errors.As(err, &fe):
			out = append(out, result{err: err})
		default:
			return out, err
		}
	}
	t.Fatal("decoder made no progress")
	return nil, nil
}

func frameBytes(t *testing.T, serial uint16, app AppData) []byte {
	t.Helper()
	f := Frame{Serial: serial, Version: Version2011, Time: exTime, Source: exDevice, Dest: exCentre, Command: CmdSend}
	if app.Type != 0 {
		var err error
		if f.Data, err = app.MarshalBinary(); err != nil {
			t.Fatal(err)
		}
	}
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecoderGluedSplitAndGarbage(t *testing.T) {
	big := AppData{Type: TypeComponentState}
	for range 22 {
		big.Objects = append(big.Objects, ComponentState{Description: "配电箱@@##", Status: StatusNormal | StatusFire, Time: exEvent})
	}
	var stream []byte
	stream = append(stream, "garbage @ @# \x00"...)
	stream = append(stream, frameBytes(t, 0, AppData{})...) // heartbeat
	stream = append(stream, frameBytes(t, 1, big)...)       // 1042 bytes, "@@" inside
	stream = append(stream, "@x"...)
	stream = append(stream, frameBytes(t, 2, AppData{Type: TypeDeviceState, Objects: []Object{DeviceState{DevNormal, exEvent}}})...)
	for _, sizes := range [][]int{{len(stream)}, {1}, {2, 3, 5, 7}, {1000}, {29, 31}} {
		d := NewDecoder(&chunkReader{b: stream, sizes: sizes})
		got, err := drain(t, d)
		if err != io.EOF {
			t.Fatalf("sizes %v: end %v", sizes, err)
		}
		if len(got) != 3 {
			t.Fatalf("sizes %v: %d results: %+v", sizes, len(got), got)
		}
		for i, g := range got {
			if g.err != nil || g.frame.Serial != uint16(i) {
				t.Fatalf("sizes %v: result %d: %+v", sizes, i, g)
			}
		}
		if app, err := DecodeAppData(got[1].frame.Data); err != nil || len(app.Objects) != 22 {
			t.Fatalf("big frame: %v", err)
		}
		if d.Skipped() != uint64(len("garbage @ @# \x00")+2) {
			t.Fatalf("skipped %d", d.Skipped())
		}
	}
}

// A bad frame is reported with its header (so the deny echoes the serial)
// and the next good frame still decodes: checksum, unknown command, a length
// over 1024, a wrong end.
func TestDecoderResyncAfterBadFrames(t *testing.T) {
	good := frameBytes(t, 7, AppData{Type: TypeDeviceVersion, Objects: []Object{DeviceVersion{1, 2}}})
	mk := func(edit func([]byte)) []byte {
		b := frameBytes(t, 5, AppData{Type: TypeDeviceVersion, Objects: []Object{DeviceVersion{1, 1}}})
		edit(b)
		return b
	}
	cases := []struct {
		name string
		bad  []byte
		want error
	}{
		{"checksum", mk(func(b []byte) { b[len(b)-3]++ }), ErrChecksum},
		{"command 9", mk(func(b []byte) { b[26] = 9; b[len(b)-3] += 7 }), ErrCommand},
		{"length 1025", mk(func(b []byte) { b[24], b[25] = 0x01, 0x04 }), ErrLength},
		{"end", mk(func(b []byte) { b[len(b)-1] = '$' }), ErrEnd},
		{"length says longer than sent, next frame inside", mk(func(b []byte) { b[24] = 10 }), ErrEnd},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stream := append(append(append([]byte{}, c.bad...), good...), good...)
			for _, sizes := range [][]int{{len(stream)}, {1}, {3, 11}} {
				got, err := drain(t, NewDecoder(&chunkReader{b: stream, sizes: sizes}))
				if err != io.EOF && err != io.ErrUnexpectedEOF {
					t.Fatal(err)
				}
				if len(got) < 3 || !errors.Is(got[0].err, c.want) {
					t.Fatalf("sizes %v: %+v", sizes, got)
				}
				var fe *FrameError
				errors.As(got[0].err, &fe)
				if fe.Header.Serial != 5 || fe.Header.Source != exDevice {
					t.Fatalf("header %+v", fe.Header)
				}
				deny, _ := DenyFor(got[0].err, exAnswer)
				if deny.Serial != 5 || deny.Command != CmdDeny || deny.Dest != exDevice || deny.Source != exCentre {
					t.Fatalf("deny %+v", deny)
				}
				last := got[len(got)-2:]
				if last[0].err != nil || last[0].frame.Serial != 7 || last[1].err != nil || last[1].frame.Serial != 7 {
					t.Fatalf("sizes %v: after the bad frame: %+v", sizes, got)
				}
			}
		})
	}
}

// One '@' of garbage right before a frame makes "@@@": the first "@@" is a
// false start, reported as a bad frame (its end is not where its length
// says), and the real frame one byte later still decodes.
func TestDecoderFalseStart(t *testing.T) {
	stream := append([]byte("@"), frameBytes(t, 3, AppData{})...)
	got, err := drain(t, NewDecoder(bytes.NewReader(stream)))
	if err != io.EOF || len(got) != 2 || got[0].err == nil || got[1].err != nil || got[1].frame.Serial != 3 {
		t.Fatalf("%v %+v", err, got)
	}
}

func TestDecoderEOFInsideFrame(t *testing.T) {
	good := frameBytes(t, 1, AppData{})
	d := NewDecoder(bytes.NewReader(good[:20]))
	if _, err := d.Next(); err != io.ErrUnexpectedEOF {
		t.Fatalf("got %v", err)
	}
	d = NewDecoder(iotest.TimeoutReader(bytes.NewReader(good)))
	if f, err := d.Next(); err != nil || f.Serial != 1 {
		t.Fatalf("%v %v", f, err)
	}
	if _, err := d.Next(); err != iotest.ErrTimeout {
		t.Fatalf("got %v", err)
	}
	if !bytes.Equal(d.Raw(), nil) {
		t.Fatal("raw kept after an error")
	}
}

// Garbage without "@@" never fills the buffer: it is dropped as it comes.
func TestDecoderBoundedOnGarbage(t *testing.T) {
	junk := bytes.Repeat([]byte("#@x"), 100000)
	d := NewDecoder(&chunkReader{b: junk, sizes: []int{4096}})
	if _, err := drain(t, d); err != io.ErrUnexpectedEOF && err != io.EOF {
		t.Fatal(err)
	}
	if d.Skipped() < uint64(len(junk)-1) {
		t.Fatalf("skipped %d of %d", d.Skipped(), len(junk))
	}
}

// Property: random valid frames, glued with random garbage that holds no
// '@', read in random chunk sizes, decode to exactly those frames.
func TestDecoderRandomStreams(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 26875))
	for range 300 {
		var stream []byte
		var want []Frame
		for range 1 + r.IntN(8) {
			junk := make([]byte, r.IntN(5))
			for i := range junk {
				junk[i] = byte(r.UintN(256))
				if junk[i] == '@' {
					junk[i] = '#'
				}
			}
			stream = append(stream, junk...)
			f := Frame{Serial: uint16(r.UintN(1 << 16)), Version: Version2011, Time: randLabel(r),
				Source: Address(r.Uint64N(uint64(MaxAddress))), Dest: Address(r.Uint64N(uint64(MaxAddress))),
				Command: Command(1 + r.IntN(6)), Data: make([]byte, r.IntN(MaxDataLen+1))}
			for i := range f.Data {
				f.Data[i] = byte(r.UintN(256))
			}
			b, err := f.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			stream = append(stream, b...)
			want = append(want, f)
		}
		sizes := []int{1 + r.IntN(3), 1 + r.IntN(100), 1 + r.IntN(3000)}
		got, err := drain(t, NewDecoder(&chunkReader{b: stream, sizes: sizes}))
		if err != io.EOF && err != io.ErrUnexpectedEOF {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d results for %d frames", len(got), len(want))
		}
		for i, g := range got {
			if g.err != nil {
				t.Fatalf("frame %d: %v", i, g.err)
			}
			if len(want[i].Data) == 0 {
				want[i].Data = g.frame.Data
			}
			if !reflect.DeepEqual(g.frame, want[i]) {
				t.Fatalf("frame %d differs", i)
			}
		}
	}
}
