package gb26875

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// textPool mixes ASCII, CJK (2 bytes in GB 18030), full-width forms and
// characters outside the BMP (4 bytes), so descriptions hit every cut.
var textPool = []rune("AZaz09 -_/#@烟感火警一楼厨房配电箱剩余电流温度Ａ１区层呷哺走廊°℃€😀𠀀é")

func randText(r *rand.Rand, maxRunes int) string {
	n := r.IntN(maxRunes + 1)
	var b strings.Builder
	for range n {
		b.WriteRune(textPool[r.IntN(len(textPool))])
	}
	return b.String()
}

func randLabel(r *rand.Rand) TimeLabel {
	return TimeLabel{Second: uint8(r.IntN(60)), Minute: uint8(r.IntN(60)), Hour: uint8(r.IntN(24)),
		Day: uint8(1 + r.IntN(28)), Month: uint8(1 + r.IntN(12)), Year: uint8(r.IntN(100))}
}

func randSys(r *rand.Rand) System { return System{SystemType(r.UintN(256)), uint8(r.UintN(256))} }

func randAddr(r *rand.Rand) ComponentAddr {
	return ComponentAddr{uint16(r.UintN(1 << 16)), uint16(r.UintN(1 << 16))}
}

func randComp(r *rand.Rand) Component {
	return Component{randSys(r), ComponentType(r.UintN(256)), randAddr(r)}
}

// randObject makes a random object of type t and the value it must decode
// to (texts cut the way the wire cuts them).
func randObject(r *rand.Rand, t TypeFlag) (in, out Object) {
	switch t {
	case TypeSystemState:
		o := SystemState{randSys(r), SystemStatus(r.UintN(1 << 16)), randLabel(r)}
		return o, o
	case TypeComponentState:
		o := ComponentState{randComp(r), ComponentStatus(r.UintN(1 << 16)), randText(r, 40), randLabel(r)}
		w := o
		w.Description = FitDescription(o.Description)
		return o, w
	case TypeComponentAnalog:
		o := ComponentAnalog{randComp(r), AnalogKind(r.UintN(256)), int16(r.IntN(1<<16) - 1<<15), randLabel(r)}
		return o, o
	case TypeSystemOperation:
		o := SystemOperation{randSys(r), OperationFlags(r.UintN(256)), uint8(r.UintN(256)), randLabel(r)}
		return o, o
	case TypeSystemVersion:
		o := SystemVersion{randSys(r), uint8(r.UintN(256)), uint8(r.UintN(256))}
		return o, o
	case TypeSystemConfig:
		o := SystemConfig{randSys(r), randText(r, 140)}
		w := o
		w.Text = DecodeText(EncodeText(o.Text, 255))
		return o, w
	case TypeComponentConfig:
		o := ComponentConfig{randComp(r), randText(r, 40)}
		w := o
		w.Description = FitDescription(o.Description)
		return o, w
	case TypeSystemTime:
		o := SystemTime{randSys(r), randLabel(r)}
		return o, o
	case TypeDeviceState:
		o := DeviceState{DeviceStatus(r.UintN(256)), randLabel(r)}
		return o, o
	case TypeDeviceOperation:
		o := DeviceOperation{DeviceOperationFlags(r.UintN(256)), uint8(r.UintN(256)), randLabel(r)}
		return o, o
	case TypeDeviceVersion:
		o := DeviceVersion{uint8(r.UintN(256)), uint8(r.UintN(256))}
		return o, o
	case TypeDeviceConfig:
		o := DeviceConfig{randText(r, 140)}
		return o, DeviceConfig{DecodeText(EncodeText(o.Text, 255))}
	case TypeDeviceTime:
		o := DeviceTime{randLabel(r)}
		return o, o
	case TypeReadSystemState, TypeReadSystemVer, TypeReadSystemConfig, TypeReadSystemTime:
		o := SystemQuery{randSys(r)}
		return o, o
	case TypeReadComponent, TypeReadAnalog, TypeReadCompConfig:
		o := ComponentQuery{randSys(r), randAddr(r)}
		return o, o
	case TypeReadSystemOps:
		o := RecordQuery{randSys(r), uint8(r.UintN(103)), randLabel(r)}
		return o, o
	case TypeReadDeviceOps:
		o := DeviceRecordQuery{uint8(r.UintN(103)), randLabel(r)}
		return o, o
	case TypeReadDeviceState, TypeReadDeviceVer, TypeReadDeviceConfig, TypeReadDeviceTime, TypeInitDevice:
		o := Reserved{uint8(r.UintN(256))}
		return o, o
	case TypeClockSync:
		if r.IntN(2) == 0 {
			o := ClockSync{HasTime: true, Time: randLabel(r)}
			return o, o
		}
		o := ClockSync{Reserved: uint8(r.UintN(256))}
		return o, o
	case TypeDutyCheck:
		o := DutyCheck{uint8(r.UintN(256))}
		return o, o
	}
	panic("no generator for " + t.Name())
}

// Every type: encode → decode gives the original (texts as the wire cuts
// them), for random valid values and every object count the standard allows
// that fits 1024 bytes.
func TestAppDataRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(26875, 3))
	for typ, spec := range specs {
		for range 300 {
			n := 1 + r.IntN(spec.max)
			in := AppData{Type: typ}
			want := AppData{Type: typ}
			for range n {
				i, o := randObject(r, typ)
				in.Objects = append(in.Objects, i)
				want.Objects = append(want.Objects, o)
			}
			b, err := in.MarshalBinary()
			if err != nil {
				t.Fatalf("%s: %v", spec.name, err)
			}
			got, err := DecodeAppData(b)
			if err != nil {
				t.Fatalf("%s: decode % X: %v", spec.name, b, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s:\n got %+v\nwant %+v", spec.name, got, want)
			}
		}
	}
}

func TestFrameRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		f := Frame{
			Serial: uint16(r.UintN(1 << 16)), Version: [2]byte{uint8(r.UintN(256)), uint8(r.UintN(256))},
			Time: randLabel(r), Source: Address(r.Uint64N(uint64(MaxAddress) + 1)),
			Dest: Address(r.Uint64N(uint64(MaxAddress) + 1)), Command: Command(1 + r.IntN(6)),
		}
		if n := r.IntN(MaxDataLen + 1); n > 0 {
			f.Data = make([]byte, n)
			for i := range f.Data {
				f.Data[i] = byte(r.UintN(256))
			}
		}
		b, err := f.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseFrame(b)
		if err != nil {
			t.Fatalf("%v (% X)", err, b)
		}
		if !reflect.DeepEqual(got, f) && !(len(got.Data) == 0 && len(f.Data) == 0) {
			t.Fatalf("got %+v\nwant %+v", got, f)
		}
	}
}

func TestDescriptionCutAtCharacterBoundary(t *testing.T) {
	cases := []struct{ in, want string }{
		{strings.Repeat("烟", 16), strings.Repeat("烟", 15)},             // 32 bytes → 30
		{"a" + strings.Repeat("烟", 15), "a" + strings.Repeat("烟", 15)}, // exactly 31
		{strings.Repeat("a", 28) + "😀", strings.Repeat("a", 28)},       // a 4-byte char does not fit 3
		{strings.Repeat("a", 27) + "😀", strings.Repeat("a", 27) + "😀"}, // it fits 4
		{"厨房\x00后面", "厨房"},                                             // NUL ends the text
	}
	for _, c := range cases {
		b := appendDescription(nil, c.in)
		if len(b) != DescriptionLen {
			t.Fatalf("%q: %d bytes", c.in, len(b))
		}
		if got := DecodeText(b); got != c.want {
			t.Errorf("%q → %q, want %q", c.in, got, c.want)
		}
	}
}

func TestEncodeRefuses(t *testing.T) {
	ts := LabelOf(time.Date(2026, 12, 4, 8, 15, 2, 0, time.UTC))
	tooMany := AppData{Type: TypeComponentState}
	for range 23 {
		tooMany.Objects = append(tooMany.Objects, ComponentState{Time: ts})
	}
	bad := []AppData{
		tooMany,
		{Type: TypeComponentState},
		{Type: TypeComponentState, Objects: []Object{DeviceState{}}},
		{Type: TypeReadDeviceOps, Objects: []Object{RecordQuery{}}},
		{Type: 200, Objects: []Object{Reserved{}}},
		{Type: TypeDeviceState, Objects: []Object{nil}},
	}
	for _, a := range bad {
		if b, err := a.MarshalBinary(); err == nil {
			t.Errorf("%+v encoded to % X", a, b)
		}
	}
	if _, err := (Frame{Data: make([]byte, MaxDataLen+1)}).MarshalBinary(); err == nil {
		t.Error("1025 data bytes encoded")
	}
	if _, err := (Frame{Source: MaxAddress + 1}).MarshalBinary(); err == nil {
		t.Error("a 7-byte address encoded")
	}
}

func TestDecodeAppDataErrors(t *testing.T) {
	for _, h := range []string{
		"02",                            // no count
		"02 01 01",                      // short object
		"02 00",                         // no objects
		"15 01 08 04 00 09 02 07 15 00", // trailing byte
		"C8 01 00",                      // unknown type 200
		"06 01 01 02 05 41",             // text longer than the unit
	} {
		if a, err := DecodeAppData(unhex(t, h)); err == nil {
			t.Errorf("%s decoded to %+v", h, a)
		}
	}
}

func TestTimeLabel(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	at := time.Date(2026, 2, 28, 23, 59, 58, 0, cst)
	l := LabelOf(at)
	if back, err := l.In(cst); err != nil || !back.Equal(at) {
		t.Fatalf("%v %v", back, err)
	}
	for _, bad := range []TimeLabel{{Day: 0, Month: 1}, {Day: 30, Month: 2, Year: 26}, {Second: 60, Day: 1, Month: 1}, {Day: 1, Month: 13}} {
		if _, err := bad.In(cst); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestStatusStrings(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{(StatusNormal | StatusFire).String(), "normal+fire"},
		{StatusFire.String(), "bit0-clear(test)+fire"},
		{(DevNormal | DevCentreLinkFault).String(), "normal+centre-link-fault"},
		{(SysNormal | SysBusFault).String(), "normal+bus-fault"},
		{OperationFlags(0).String(), "none"},
		{DevOpDutyAnswer.String(), "duty-answer"},
		{ComponentResidualCurrent.String(), "residual-current detector(17)"},
	} {
		if c.got != c.want {
			t.Errorf("got %q want %q", c.got, c.want)
		}
	}
	if step, unit, ok := AnalogTemperature.Scale(); !ok || step != 0.1 || unit != "°C" {
		t.Errorf("temperature scale %v %q", step, unit)
	}
	if !bytes.Equal(EncodeText("", 31), nil) && len(EncodeText("", 31)) != 0 {
		t.Error("empty text")
	}
}
