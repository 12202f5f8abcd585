package gb26875

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

func seedFrames(f *testing.F) {
	for _, v := range sourceA {
		f.Add(unhex(f, v.hex))
	}
	field := unhex(f, fieldFrame)
	f.Add(field)
	f.Add(append(append([]byte("junk@"), field...), field[:40]...))
	f.Add([]byte("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@##"))
}

// FuzzDecoder feeds arbitrary bytes, in reads whose sizes come from the
// input, to the stream decoder: no panic, the buffer stays bounded, every
// call makes progress, and every frame it returns re-encodes to the exact
// bytes it was read from.
func FuzzDecoder(f *testing.F) {
	seedFrames(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		sizes := []int{1}
		if len(data) > 0 {
			sizes = []int{int(data[0]%7) + 1, int(data[0]>>3) + 1, 64}
		}
		d := NewDecoder(&chunkReader{b: data, sizes: sizes})
		for calls := 0; ; calls++ {
			if calls > len(data)+1 {
				t.Fatalf("%d calls for %d bytes", calls, len(data))
			}
			fr, err := d.Next()
			if d.Buffered() > bufSize {
				t.Fatalf("buffer %d", d.Buffered())
			}
			var fe *FrameError
			if errors.As(err, &fe) {
				if _, ok := DenyFor(err, TimeLabel{}); !ok {
					t.Fatal("no deny for a FrameError")
				}
				continue
			}
			if err != nil {
				if err != io.EOF && err != io.ErrUnexpectedEOF {
					t.Fatalf("reader error %v", err)
				}
				return
			}
			b, err := fr.MarshalBinary()
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			if !bytes.Equal(b, d.Raw()) {
				t.Fatalf("re-encoded % X\nread % X", b, d.Raw())
			}
			_, _ = DecodeAppData(fr.Data)
		}
	})
}

// FuzzAppData decodes arbitrary application data: no panic; a unit that
// decodes and respects the standard's object count encodes again, and that
// encoding decodes to the same value.
func FuzzAppData(f *testing.F) {
	for _, v := range sourceA {
		fr, err := ParseFrame(unhex(f, v.hex))
		if err == nil && len(fr.Data) > 0 {
			f.Add(fr.Data)
		}
	}
	fr, _ := ParseFrame(unhex(f, fieldFrame))
	f.Add(fr.Data)
	f.Add([]byte{byte(TypeSystemConfig), 1, 1, 2, 4, 0xff, 0x30, 0x81, 0x30})
	f.Add([]byte{byte(TypeClockSync), 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := DecodeAppData(data)
		if err != nil || len(data) == 0 || len(a.Objects) > a.Type.MaxObjects() {
			return
		}
		b, err := a.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", a, err)
		}
		a2, err := DecodeAppData(b)
		if err != nil {
			t.Fatalf("re-decode % X: %v", b, err)
		}
		// Texts may change once (undecodable bytes become U+FFFD, which
		// takes 4 bytes and may be cut); after that they are stable.
		b2, err := a2.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		a3, err := DecodeAppData(b2)
		if err != nil || !reflect.DeepEqual(a3, a2) {
			t.Fatalf("not stable:\n%+v\n%+v (%v)", a2, a3, err)
		}
	})
}
