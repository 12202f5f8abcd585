package gb26875

import (
	"bytes"
	"testing"
)

// BenchmarkDecoder decodes a stream of fire-alarm frames (78 bytes each)
// read in 4 KiB chunks.
func BenchmarkDecoder(b *testing.B) {
	one := unhex(b, sourceA[0].hex)
	stream := bytes.Repeat(one, 1000)
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		d := NewDecoder(&chunkReader{b: stream, sizes: []int{4096}})
		for range 1000 {
			if _, err := d.Next(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkEncodeFireAlarm builds the frame of one component state.
func BenchmarkEncodeFireAlarm(b *testing.B) {
	app := AppData{Type: TypeComponentState, Objects: []Object{ComponentState{
		Component: Component{System{SystemFireAlarm, 1}, ComponentPointPhotoelectric, ComponentAddr{1, 12}},
		Status:    StatusNormal | StatusFire, Description: "一楼厨房烟感", Time: exEvent,
	}}}
	buf := make([]byte, 0, MaxFrameLen)
	for b.Loop() {
		data, err := app.Append(buf[:0])
		if err != nil {
			b.Fatal(err)
		}
		f := Frame{Serial: 1, Version: Version2011, Time: exTime, Source: exDevice, Dest: exCentre, Command: CmdSend, Data: data}
		if _, err := f.Append(make([]byte, 0, MaxFrameLen)); err != nil {
			b.Fatal(err)
		}
	}
}
