package gb26875

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

// The time label of the worked examples: 2012-09-26 09:58:02 (and :35 in
// the answers), addresses 0x035B38 (the centre) and 0x0379 (the device).
var (
	exTime    = TimeLabel{Second: 0x20, Minute: 0x3A, Hour: 9, Day: 0x1A, Month: 9, Year: 12}
	exAnswer  = TimeLabel{Second: 0x23, Minute: 0x3A, Hour: 9, Day: 0x1A, Month: 9, Year: 12}
	exEvent   = TimeLabel{Second: 2, Minute: 0x3A, Hour: 9, Day: 0x1A, Month: 9, Year: 12}
	exDevice  = Address(0x0379)
	exCentre  = Address(0x015B38)
	exHeader  = "40 40 01 00 01 01 20 3A 09 1A 09 0C "
	exUp      = exHeader + "79 03 00 00 00 00 38 5B 01 00 00 00 "
	exDown    = exHeader + "38 5B 01 00 00 00 79 03 00 00 00 00 "
	exConfirm = "40 40 01 00 01 01 23 3A 09 1A 09 0C 38 5B 01 00 00 00 79 03 00 00 00 00 00 00 03 AB 23 23"
	exDeny    = "40 40 01 00 01 01 23 3A 09 1A 09 0C 38 5B 01 00 00 00 79 03 00 00 00 00 00 00 06 AE 23 23"
)

// Vectors of source A: the worked examples in "GB26875文档.md" of the
// repository ActorLancer/GB-T-26875.3.2011-rs (a transcription of
// GB/T 26875.3-2011 with its examples; checksums recomputed by hand).
var sourceA = []struct {
	name string
	hex  string
	want Frame
	app  AppData
}{
	{
		name: "example 1: smoke detector fire alarm, zone 10 position 2",
		hex:  exUp + "30 00 02 02 01 01 01 28 0A 00 02 00 02 00 " + strings.Repeat("20 ", 30) + "00 02 3A 09 1A 09 0C 46 23 23",
		want: Frame{Serial: 1, Version: Version2011, Time: exTime, Source: exDevice, Dest: exCentre, Command: CmdSend},
		app: AppData{Type: TypeComponentState, Objects: []Object{ComponentState{
			Component: Component{System{SystemFireAlarm, 1}, ComponentSmoke, ComponentAddr{Zone: 10, Position: 2}},
			Status:    StatusFire, Description: strings.Repeat(" ", 30), Time: exEvent,
		}}},
	},
	{
		name: "example 2: transmission device main power fault",
		hex:  exUp + "09 00 02 15 01 08 02 3A 09 1A 09 0C 42 23 23",
		want: Frame{Serial: 1, Version: Version2011, Time: exTime, Source: exDevice, Dest: exCentre, Command: CmdSend},
		app:  AppData{Type: TypeDeviceState, Objects: []Object{DeviceState{DevMainPowerFault, exEvent}}},
	},
	{
		name: "example 3: duty-check answer operation record",
		hex:  exUp + "0A 00 02 18 01 20 01 02 3A 09 1A 09 0C 5F 23 23",
		want: Frame{Serial: 1, Version: Version2011, Time: exTime, Source: exDevice, Dest: exCentre, Command: CmdSend},
		app:  AppData{Type: TypeDeviceOperation, Objects: []Object{DeviceOperation{DevOpDutyAnswer, 1, exEvent}}},
	},
	{
		name: "example 4: software version 1.1",
		hex:  exUp + "04 00 02 19 01 01 01 C7 23 23",
		want: Frame{Serial: 1, Version: Version2011, Time: exTime, Source: exDevice, Dest: exCentre, Command: CmdSend},
		app:  AppData{Type: TypeDeviceVersion, Objects: []Object{DeviceVersion{1, 1}}},
	},
	{
		name: "example 5: device time",
		hex:  exUp + "08 00 02 1C 01 02 3A 09 1A 09 0C 40 23 23",
		want: Frame{Serial: 1, Version: Version2011, Time: exTime, Source: exDevice, Dest: exCentre, Command: CmdSend},
		app:  AppData{Type: TypeDeviceTime, Objects: []Object{DeviceTime{exEvent}}},
	},
	{
		name: "example 6: the centre reads the device state",
		hex:  exDown + "03 00 04 51 01 00 FE 23 23",
		want: Frame{Serial: 1, Version: Version2011, Time: exTime, Source: exCentre, Dest: exDevice, Command: CmdRequest},
		app:  AppData{Type: TypeReadDeviceState, Objects: []Object{Reserved{0}}},
	},
	{
		name: "example 6: the device answers main power fault",
		hex:  exUp + "09 00 05 15 01 08 02 3A 09 1A 09 0C 45 23 23",
		want: Frame{Serial: 1, Version: Version2011, Time: exTime, Source: exDevice, Dest: exCentre, Command: CmdResponse},
		app:  AppData{Type: TypeDeviceState, Objects: []Object{DeviceState{DevMainPowerFault, exEvent}}},
	},
	{
		name: "example 7: the centre reads the software version",
		hex:  exDown + "03 00 04 55 01 00 02 23 23",
		want: Frame{Serial: 1, Version: Version2011, Time: exTime, Source: exCentre, Dest: exDevice, Command: CmdRequest},
		app:  AppData{Type: TypeReadDeviceVer, Objects: []Object{Reserved{0}}},
	},
	{
		name: "example 8: the centre reads the device time",
		hex:  exDown + "03 00 04 58 01 00 05 23 23",
		want: Frame{Serial: 1, Version: Version2011, Time: exTime, Source: exCentre, Dest: exDevice, Command: CmdRequest},
		app:  AppData{Type: TypeReadDeviceTime, Objects: []Object{Reserved{0}}},
	},
	{
		name: "example 9: initialise the device",
		hex:  exDown + "03 00 01 59 01 00 03 23 23",
		want: Frame{Serial: 1, Version: Version2011, Time: exTime, Source: exCentre, Dest: exDevice, Command: CmdControl},
		app:  AppData{Type: TypeInitDevice, Objects: []Object{Reserved{0}}},
	},
	{
		// The example's body is a 6-byte time; the standard's text (8.3.2.15
		// in the same document) gives one reserved byte. Both decode.
		name: "example 10: clock sync with a 6-byte time",
		hex:  exDown + "08 00 01 5A 01 02 3A 09 1A 09 0C 7D 23 23",
		want: Frame{Serial: 1, Version: Version2011, Time: exTime, Source: exCentre, Dest: exDevice, Command: CmdControl},
		app:  AppData{Type: TypeClockSync, Objects: []Object{ClockSync{HasTime: true, Time: exEvent}}},
	},
	{
		// The example's byte is 0A ("10 minutes"); the text says reserved.
		name: "example 11: duty check",
		hex:  exDown + "03 00 01 5B 01 0A 0F 23 23",
		want: Frame{Serial: 1, Version: Version2011, Time: exTime, Source: exCentre, Dest: exDevice, Command: CmdControl},
		app:  AppData{Type: TypeDutyCheck, Objects: []Object{DutyCheck{10}}},
	},
	{
		name: "the centre's confirm",
		hex:  exConfirm,
		want: Frame{Serial: 1, Version: Version2011, Time: exAnswer, Source: exCentre, Dest: exDevice, Command: CmdConfirm},
	},
	{
		name: "the centre's deny",
		hex:  exDeny,
		want: Frame{Serial: 1, Version: Version2011, Time: exAnswer, Source: exCentre, Dest: exDevice, Command: CmdDeny},
	},
}

// gbText is a field frame's description "Ａ区１层呷哺走廊" in GB 18030.
const gbText = "a3 c1 c7 f8 a3 b1 b2 e3 df c8 b2 b8 d7 df c0 c8 " + "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 "

// Source B: the field frame in dgiot/dgiot
// apps/dgiot_gb26875/src/protocol/dgiot_gb26875_decoder.erl (test/0), also
// in shootingfans/codec_gb26875_3_2011 codec/reader_decoder_test.go, whose
// first copy ends in checksum 63 instead of 68 (a bad-checksum case).
// Serial 00 00, destination 0x010203040506, a fire alarm of component
// D9 00 06 00 (zone 217, position 6; shootingfans reads 0x0600D9) in system 1/3 at 2020-08-01 19:18:48.
const fieldFrame = "40 40 00 00 01 01 18 0d 11 16 0a 14 00 00 00 00 00 00 06 05 04 03 02 01 30 00 02 " +
	"02 01 01 03 00 d9 00 06 00 02 00 " + gbText + "30 12 13 01 08 14 68 23 23"

func TestConformanceSourceA(t *testing.T) {
	for _, v := range sourceA {
		t.Run(v.name, func(t *testing.T) {
			raw := unhex(t, v.hex)
			f, err := ParseFrame(raw)
			if err != nil {
				t.Fatalf("ParseFrame: %v", err)
			}
			data := f.Data
			f.Data = nil
			if !reflect.DeepEqual(f, v.want) {
				t.Fatalf("frame\n got %+v\nwant %+v", f, v.want)
			}
			app, err := DecodeAppData(data)
			if err != nil {
				t.Fatalf("DecodeAppData: %v", err)
			}
			if !reflect.DeepEqual(app, v.app) {
				t.Fatalf("app data\n got %+v\nwant %+v", app, v.app)
			}
			// Encode back: the same bytes.
			enc := v.want
			if v.app.Type != 0 {
				if enc.Data, err = v.app.MarshalBinary(); err != nil {
					t.Fatal(err)
				}
			}
			got, err := enc.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, raw) {
				t.Fatalf("encode\n got % X\nwant % X", got, raw)
			}
		})
	}
}

// The confirm and deny of source A answer example 1 with its serial echoed
// and the addresses swapped: Reply builds exactly those bytes.
func TestReplyMatchesSourceA(t *testing.T) {
	f, err := ParseFrame(unhex(t, sourceA[0].hex))
	if err != nil {
		t.Fatal(err)
	}
	for c, want := range map[Command]string{CmdConfirm: exConfirm, CmdDeny: exDeny} {
		got, err := Reply(f, c, exAnswer).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, unhex(t, want)) {
			t.Errorf("%v\n got % X\nwant %s", c, got, want)
		}
	}
	// A deny for the same frame with a broken checksum: the same bytes.
	bad := unhex(t, sourceA[0].hex)
	bad[len(bad)-3]++
	_, err = ParseFrame(bad)
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("want ErrChecksum, got %v", err)
	}
	deny, ok := DenyFor(err, exAnswer)
	if !ok {
		t.Fatal("DenyFor: no frame")
	}
	if got, _ := deny.MarshalBinary(); !bytes.Equal(got, unhex(t, exDeny)) {
		t.Fatalf("deny\n got % X\nwant %s", got, exDeny)
	}
}

func TestConformanceSourceB(t *testing.T) {
	raw := unhex(t, fieldFrame)
	f, err := ParseFrame(raw)
	if err != nil {
		t.Fatal(err)
	}
	if f.Serial != 0 || f.Dest != 0x010203040506 || f.Source != 0 || f.Command != CmdSend {
		t.Fatalf("header %+v", f)
	}
	when, err := f.Time.In(time.FixedZone("CST", 8*3600))
	if err != nil || when.Unix() != 1603358004 { // 2020-10-22 17:13:24 +08
		t.Fatalf("time %v %v (%d)", when, err, when.Unix())
	}
	app, err := DecodeAppData(f.Data)
	if err != nil {
		t.Fatal(err)
	}
	want := AppData{Type: TypeComponentState, Objects: []Object{ComponentState{
		Component:   Component{System{SystemFireAlarm, 3}, ComponentGeneral, ComponentAddr{Zone: 217, Position: 6}},
		Status:      StatusFire,
		Description: "Ａ区１层呷哺走廊",
		Time:        TimeLabel{Second: 0x30, Minute: 0x12, Hour: 0x13, Day: 1, Month: 8, Year: 0x14},
	}}}
	if !reflect.DeepEqual(app, want) {
		t.Fatalf("got %+v\nwant %+v", app, want)
	}
	// shootingfans decodes the object's time as 1596280728 (UTC+8).
	if at, _ := want.Objects[0].(ComponentState).Time.In(time.FixedZone("CST", 8*3600)); at.Unix() != 1596280728 {
		t.Fatalf("object time %v", at)
	}
	if got, _ := f.MarshalBinary(); !bytes.Equal(got, raw) {
		t.Fatalf("re-encode differs")
	}
	// shootingfans' first copy, checksum 63: denied, serial echoed.
	raw[len(raw)-3] = 0x63
	_, err = ParseFrame(raw)
	var fe *FrameError
	if !errors.As(err, &fe) || fe.Err != ErrChecksum || fe.Header.Dest != 0x010203040506 {
		t.Fatalf("want a checksum FrameError, got %v", err)
	}
}

// Source C: shootingfans/codec_gb26875_3_2011 codec/codec_test.go, the
// application data units of its DecodeAppData tests (its Go values are
// Unix times for UTC+8: 1625187604 = 2021-07-02 09:00:04 +08).
func TestConformanceSourceC(t *testing.T) {
	ts := TimeLabel{Second: 4, Minute: 0, Hour: 9, Day: 2, Month: 7, Year: 0x15}
	desc := "37 c2 a5 30 32 ca d2 bb e1 d2 e9 ca d2 d1 cc b8 d0 " + strings.Repeat("00 ", 14)
	cases := []struct {
		name string
		hex  string
		want AppData
	}{
		{"system state", "01 01 01 02 04 02 04 00 09 02 07 15",
			AppData{TypeSystemState, []Object{SystemState{System{SystemFireAlarm, 2}, 0x0204, ts}}}},
		{"component state", "02 01 01 02 79 01 02 03 04 04 02 " + desc + "04 00 09 02 07 15",
			AppData{TypeComponentState, []Object{ComponentState{Component{System{1, 2}, 0x79, ComponentAddr{0x0201, 0x0403}}, 0x0204, "7楼02室会议室烟感", ts}}}},
		{"analog temperature 80.0 °C", "03 01 01 02 28 01 02 03 04 03 20 03 04 00 09 02 07 15",
			AppData{TypeComponentAnalog, []Object{ComponentAnalog{Component{System{1, 2}, ComponentSmoke, ComponentAddr{0x0201, 0x0403}}, AnalogTemperature, 800, ts}}}},
		{"system operation", "04 01 01 02 84 fa 04 00 09 02 07 15",
			AppData{TypeSystemOperation, []Object{SystemOperation{System{1, 2}, 0x84, 0xfa, ts}}}},
		{"system version", "05 01 01 02 03 04",
			AppData{TypeSystemVersion, []Object{SystemVersion{System{1, 2}, 3, 4}}}},
		{"component config", "07 01 01 02 28 01 02 03 04 " + desc,
			AppData{TypeComponentConfig, []Object{ComponentConfig{Component{System{1, 2}, ComponentSmoke, ComponentAddr{0x0201, 0x0403}}, "7楼02室会议室烟感"}}}},
		{"system time", "08 01 01 02 04 00 09 02 07 15",
			AppData{TypeSystemTime, []Object{SystemTime{System{1, 2}, ts}}}},
		{"device state", "15 01 08 04 00 09 02 07 15",
			AppData{TypeDeviceState, []Object{DeviceState{DevMainPowerFault, ts}}}},
		{"device operation", "18 01 31 fa 04 00 09 02 07 15",
			AppData{TypeDeviceOperation, []Object{DeviceOperation{0x31, 0xfa, ts}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := unhex(t, c.hex)
			got, err := DecodeAppData(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v\nwant %+v", got, c.want)
			}
			enc, err := c.want.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, raw) {
				t.Fatalf("encode\n got % X\nwant % X", enc, raw)
			}
			when, err := ts.In(time.FixedZone("CST", 8*3600))
			if err != nil || when.Unix() != 1625187604 {
				t.Fatalf("time label %v: %v", when, err)
			}
		})
	}
}
