package gb26875

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// TypeFlag is the 类型标志 of an application data unit (8.1.1).
type TypeFlag uint8

// Type flags: uploads from the transmission device (1–28) and downloads from
// the centre (61–91).
const (
	TypeSystemState      TypeFlag = 1  // 上传建筑消防设施系统状态
	TypeComponentState   TypeFlag = 2  // 上传建筑消防设施部件运行状态
	TypeComponentAnalog  TypeFlag = 3  // 上传建筑消防设施部件模拟量值
	TypeSystemOperation  TypeFlag = 4  // 上传建筑消防设施操作信息
	TypeSystemVersion    TypeFlag = 5  // 上传建筑消防设施软件版本
	TypeSystemConfig     TypeFlag = 6  // 上传建筑消防设施系统配置情况
	TypeComponentConfig  TypeFlag = 7  // 上传建筑消防设施部件配置情况
	TypeSystemTime       TypeFlag = 8  // 上传建筑消防设施系统时间
	TypeDeviceState      TypeFlag = 21 // 上传用户信息传输装置运行状态
	TypeDeviceOperation  TypeFlag = 24 // 上传用户信息传输装置操作信息
	TypeDeviceVersion    TypeFlag = 25 // 上传用户信息传输装置软件版本
	TypeDeviceConfig     TypeFlag = 26 // 上传用户信息传输装置配置情况
	TypeDeviceTime       TypeFlag = 28 // 上传用户信息传输装置系统时间
	TypeReadSystemState  TypeFlag = 61 // 读建筑消防设施系统状态
	TypeReadComponent    TypeFlag = 62 // 读建筑消防设施部件运行状态
	TypeReadAnalog       TypeFlag = 63 // 读建筑消防设施部件模拟量值
	TypeReadSystemOps    TypeFlag = 64 // 读建筑消防设施操作信息记录
	TypeReadSystemVer    TypeFlag = 65 // 读建筑消防设施软件版本
	TypeReadSystemConfig TypeFlag = 66 // 读建筑消防设施系统配置情况
	TypeReadCompConfig   TypeFlag = 67 // 读建筑消防设施部件配置情况
	TypeReadSystemTime   TypeFlag = 68 // 读建筑消防设施系统时间
	TypeReadDeviceState  TypeFlag = 81 // 读用户信息传输装置运行状态
	TypeReadDeviceOps    TypeFlag = 84 // 读用户信息传输装置操作信息记录
	TypeReadDeviceVer    TypeFlag = 85 // 读用户信息传输装置软件版本
	TypeReadDeviceConfig TypeFlag = 86 // 读用户信息传输装置配置情况
	TypeReadDeviceTime   TypeFlag = 88 // 读用户信息传输装置系统时间
	TypeInitDevice       TypeFlag = 89 // 初始化用户信息传输装置
	TypeClockSync        TypeFlag = 90 // 同步用户信息传输装置时钟
	TypeDutyCheck        TypeFlag = 91 // 查岗命令
)

// System names one fire facility system: its type and address.
type System struct {
	Type SystemType
	Addr uint8
}

// ComponentAddr is a component's 4-byte address: zone (区号) then position
// (位号), each 2 bytes little-endian, zone first on the wire (the standard's
// worked example "2号10区" is 0A 00 02 00).
type ComponentAddr struct {
	Zone, Position uint16
}

func (a ComponentAddr) String() string { return fmt.Sprintf("%d-%d", a.Zone, a.Position) }

// Component names one component of a system.
type Component struct {
	System System
	Type   ComponentType
	Addr   ComponentAddr
}

// Upload objects.
type (
	// SystemState is a type-1 object: a system's status word.
	SystemState struct {
		System System
		Status SystemStatus
		Time   TimeLabel
	}
	// ComponentState is a type-2 object: a component's status word and its
	// description (31 bytes GB 18030 on the wire).
	ComponentState struct {
		Component   Component
		Status      ComponentStatus
		Description string
		Time        TimeLabel
	}
	// ComponentAnalog is a type-3 object: one analog value in Kind's step.
	ComponentAnalog struct {
		Component Component
		Kind      AnalogKind
		Value     int16
		Time      TimeLabel
	}
	// SystemOperation is a type-4 object: an operation on a system.
	SystemOperation struct {
		System   System
		Flags    OperationFlags
		Operator uint8
		Time     TimeLabel
	}
	// SystemVersion is a type-5 object.
	SystemVersion struct {
		System       System
		Major, Minor uint8
	}
	// SystemConfig is a type-6 object: a free text (≤ 255 bytes GB 18030).
	SystemConfig struct {
		System System
		Text   string
	}
	// ComponentConfig is a type-7 object: a component and its description.
	ComponentConfig struct {
		Component   Component
		Description string
	}
	// SystemTime is a type-8 object: a system's clock.
	SystemTime struct {
		System System
		Time   TimeLabel
	}
	// DeviceState is a type-21 object: the transmission device's state.
	DeviceState struct {
		Status DeviceStatus
		Time   TimeLabel
	}
	// DeviceOperation is a type-24 object: an operation on the device.
	DeviceOperation struct {
		Flags    DeviceOperationFlags
		Operator uint8
		Time     TimeLabel
	}
	// DeviceVersion is a type-25 object: the device's software version.
	DeviceVersion struct{ Major, Minor uint8 }
	// DeviceConfig is a type-26 object: a free text (≤ 255 bytes GB 18030).
	DeviceConfig struct{ Text string }
	// DeviceTime is a type-28 object: the device's clock.
	DeviceTime struct{ Time TimeLabel }
)

// Download objects (the centre's requests and control commands).
type (
	// SystemQuery asks about one system: types 61, 65, 66 and 68.
	SystemQuery struct{ System System }
	// ComponentQuery asks about one component: types 62, 63 and 67. The
	// standard's body has no component type.
	ComponentQuery struct {
		System System
		Addr   ComponentAddr
	}
	// RecordQuery asks for Count operation records of a system from Start:
	// type 64.
	RecordQuery struct {
		System System
		Count  uint8
		Start  TimeLabel
	}
	// DeviceRecordQuery asks for Count of the device's operation records
	// from Start: type 84.
	DeviceRecordQuery struct {
		Count uint8
		Start TimeLabel
	}
	// Reserved is the one reserved byte (0) of types 81, 85, 86, 88 and 89.
	Reserved struct{ Byte uint8 }
	// ClockSync is type 90. The standard's text gives it one reserved byte:
	// the time to set is the frame's own time label. Some centres put a
	// 6-byte time here instead (HasTime); both decode.
	ClockSync struct {
		HasTime  bool
		Time     TimeLabel
		Reserved uint8
	}
	// DutyCheck is type 91 (查岗). The standard's text gives it one reserved
	// byte; some centres put the answer time in minutes there. Arg is that
	// byte, whichever it is.
	DutyCheck struct{ Arg uint8 }
)

// Object is one information object of an application data unit.
type Object interface {
	fits(TypeFlag) bool
	appendTo([]byte) []byte
}

// AppData is an application data unit: a type flag and its objects.
type AppData struct {
	Type    TypeFlag
	Objects []Object
}

type typeSpec struct {
	name   string
	max    int // objects per unit allowed by the standard
	decode func(t TypeFlag, b []byte) (Object, int, error)
}

// fixed decodes objects of n bytes with f.
func fixed(n int, f func([]byte) Object) func(TypeFlag, []byte) (Object, int, error) {
	return func(_ TypeFlag, b []byte) (Object, int, error) {
		if len(b) < n {
			return nil, 0, fmt.Errorf("object needs %d bytes, %d left", n, len(b))
		}
		return f(b[:n]), n, nil
	}
}

var specs = map[TypeFlag]typeSpec{
	TypeSystemState: {"system state", 102, fixed(10, func(b []byte) Object {
		return SystemState{sysAt(b), SystemStatus(le16(b[2:])), labelAt(b[4:])}
	})},
	TypeComponentState: {"component state", 22, fixed(46, func(b []byte) Object {
		return ComponentState{compAt(b), ComponentStatus(le16(b[7:])), DecodeText(b[9:40]), labelAt(b[40:])}
	})},
	TypeComponentAnalog: {"component analog value", 63, fixed(16, func(b []byte) Object {
		return ComponentAnalog{compAt(b), AnalogKind(b[7]), int16(le16(b[8:])), labelAt(b[10:])}
	})},
	TypeSystemOperation: {"system operation", 102, fixed(10, func(b []byte) Object {
		return SystemOperation{sysAt(b), OperationFlags(b[2]), b[3], labelAt(b[4:])}
	})},
	TypeSystemVersion: {"system software version", 1, fixed(4, func(b []byte) Object {
		return SystemVersion{sysAt(b), b[2], b[3]}
	})},
	TypeSystemConfig: {"system configuration", 3, func(_ TypeFlag, b []byte) (Object, int, error) {
		if len(b) < 3 || len(b) < 3+int(b[2]) {
			return nil, 0, fmt.Errorf("system configuration needs 3 bytes and its text, %d left", len(b))
		}
		return SystemConfig{sysAt(b), DecodeText(b[3 : 3+int(b[2])])}, 3 + int(b[2]), nil
	}},
	TypeComponentConfig: {"component configuration", 26, fixed(38, func(b []byte) Object {
		return ComponentConfig{compAt(b), DecodeText(b[7:38])}
	})},
	TypeSystemTime: {"system time", 1, fixed(8, func(b []byte) Object {
		return SystemTime{sysAt(b), labelAt(b[2:])}
	})},
	TypeDeviceState: {"device state", 1, fixed(7, func(b []byte) Object {
		return DeviceState{DeviceStatus(b[0]), labelAt(b[1:])}
	})},
	TypeDeviceOperation: {"device operation", 127, fixed(8, func(b []byte) Object {
		return DeviceOperation{DeviceOperationFlags(b[0]), b[1], labelAt(b[2:])}
	})},
	TypeDeviceVersion: {"device software version", 1, fixed(2, func(b []byte) Object {
		return DeviceVersion{b[0], b[1]}
	})},
	TypeDeviceConfig: {"device configuration", 1, func(_ TypeFlag, b []byte) (Object, int, error) {
		if len(b) < 1 || len(b) < 1+int(b[0]) {
			return nil, 0, fmt.Errorf("device configuration needs 1 byte and its text, %d left", len(b))
		}
		return DeviceConfig{DecodeText(b[1 : 1+int(b[0])])}, 1 + int(b[0]), nil
	}},
	TypeDeviceTime: {"device time", 1, fixed(6, func(b []byte) Object { return DeviceTime{labelAt(b)} })},

	TypeReadSystemState:  {"read system state", 102, fixed(2, sysQuery)},
	TypeReadComponent:    {"read component state", 22, fixed(6, compQuery)},
	TypeReadAnalog:       {"read component analog values", 63, fixed(6, compQuery)},
	TypeReadSystemOps:    {"read system operation records", 1, fixed(9, func(b []byte) Object { return RecordQuery{sysAt(b), b[2], labelAt(b[3:])} })},
	TypeReadSystemVer:    {"read system software version", 1, fixed(2, sysQuery)},
	TypeReadSystemConfig: {"read system configuration", 3, fixed(2, sysQuery)},
	TypeReadCompConfig:   {"read component configuration", 26, fixed(6, compQuery)},
	TypeReadSystemTime:   {"read system time", 1, fixed(2, sysQuery)},
	TypeReadDeviceState:  {"read device state", 1, fixed(1, reserved)},
	TypeReadDeviceOps:    {"read device operation records", 1, fixed(7, func(b []byte) Object { return DeviceRecordQuery{b[0], labelAt(b[1:])} })},
	TypeReadDeviceVer:    {"read device software version", 1, fixed(1, reserved)},
	TypeReadDeviceConfig: {"read device configuration", 1, fixed(1, reserved)},
	TypeReadDeviceTime:   {"read device time", 1, fixed(1, reserved)},
	TypeInitDevice:       {"initialise device", 1, fixed(1, reserved)},
	TypeClockSync: {"clock sync", 1, func(_ TypeFlag, b []byte) (Object, int, error) {
		switch {
		case len(b) >= 6:
			return ClockSync{HasTime: true, Time: labelAt(b)}, 6, nil
		case len(b) >= 1:
			return ClockSync{Reserved: b[0]}, 1, nil
		}
		return nil, 0, errors.New("clock sync needs 1 byte (the standard) or 6 (a time), none left")
	}},
	TypeDutyCheck: {"duty check", 1, fixed(1, func(b []byte) Object { return DutyCheck{b[0]} })},
}

func sysQuery(b []byte) Object  { return SystemQuery{sysAt(b)} }
func compQuery(b []byte) Object { return ComponentQuery{sysAt(b), compAddrAt(b[2:])} }
func reserved(b []byte) Object  { return Reserved{b[0]} }

// Name is the type's English name, or "type N" for one this codec does not
// know.
func (t TypeFlag) Name() string {
	if s, ok := specs[t]; ok {
		return s.name
	}
	return fmt.Sprintf("type %d", uint8(t))
}

// MaxObjects is the number of objects one unit of type t may carry (the
// standard's "n 不大于 …"; 1 where it says n = 1), 0 for an unknown type.
func (t TypeFlag) MaxObjects() int { return specs[t].max }

// DecodeAppData decodes an application data unit. Empty data (a confirm, a
// deny, a heartbeat) is the zero AppData. The object count is read as sent:
// a unit carrying more objects than the standard allows still decodes, as
// long as its bytes add up.
func DecodeAppData(b []byte) (AppData, error) {
	if len(b) == 0 {
		return AppData{}, nil
	}
	if len(b) < 2 {
		return AppData{}, fmt.Errorf("gb26875: application data of 1 byte (%02X): needs a type flag and an object count", b[0])
	}
	a := AppData{Type: TypeFlag(b[0])}
	spec, ok := specs[a.Type]
	if !ok {
		return a, fmt.Errorf("gb26875: unknown type flag %d (%d objects, %d bytes)", b[0], b[1], len(b)-2)
	}
	n := int(b[1])
	if n == 0 {
		return a, fmt.Errorf("gb26875: %s with 0 objects", spec.name)
	}
	rest := b[2:]
	a.Objects = make([]Object, 0, min(n, len(rest)))
	for i := range n {
		o, used, err := spec.decode(a.Type, rest)
		if err != nil {
			return a, fmt.Errorf("gb26875: %s object %d of %d (byte %d): %w", spec.name, i+1, n, len(b)-len(rest), err)
		}
		a.Objects = append(a.Objects, o)
		rest = rest[used:]
	}
	if len(rest) > 0 {
		return a, fmt.Errorf("gb26875: %s: %d trailing bytes after %d objects", spec.name, len(rest), n)
	}
	return a, nil
}

// Append encodes a after dst. It refuses an unknown type, an object that
// does not belong to the type, more objects than the standard allows and a
// unit longer than 1024 bytes.
func (a AppData) Append(dst []byte) ([]byte, error) {
	spec, ok := specs[a.Type]
	if !ok {
		return dst, fmt.Errorf("gb26875: unknown type flag %d", uint8(a.Type))
	}
	if len(a.Objects) == 0 || len(a.Objects) > spec.max {
		return dst, fmt.Errorf("gb26875: %s with %d objects (1 to %d)", spec.name, len(a.Objects), spec.max)
	}
	start := len(dst)
	dst = append(dst, byte(a.Type), byte(len(a.Objects)))
	for i, o := range a.Objects {
		if o == nil || !o.fits(a.Type) {
			return dst[:start], fmt.Errorf("gb26875: object %d (%T) does not belong in a %s unit", i+1, o, spec.name)
		}
		dst = o.appendTo(dst)
	}
	if n := len(dst) - start; n > MaxDataLen {
		return dst[:start], fmt.Errorf("gb26875: %s of %d bytes: %w", spec.name, n, ErrLength)
	}
	return dst, nil
}

// MarshalBinary encodes a.
func (a AppData) MarshalBinary() ([]byte, error) { return a.Append(nil) }

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }

func sysAt(b []byte) System { return System{SystemType(b[0]), b[1]} }

func compAddrAt(b []byte) ComponentAddr { return ComponentAddr{le16(b), le16(b[2:])} }

func compAt(b []byte) Component {
	return Component{sysAt(b), ComponentType(b[2]), compAddrAt(b[3:])}
}

func (s System) append(b []byte) []byte { return append(b, byte(s.Type), s.Addr) }

func (a ComponentAddr) append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint16(b, a.Zone)
	return binary.LittleEndian.AppendUint16(b, a.Position)
}

func (c Component) append(b []byte) []byte {
	b = c.System.append(b)
	b = append(b, byte(c.Type))
	return c.Addr.append(b)
}

func appendText(b []byte, s string) []byte {
	t := EncodeText(s, 255)
	return append(append(b, byte(len(t))), t...)
}

func (o SystemState) fits(t TypeFlag) bool { return t == TypeSystemState }
func (o SystemState) appendTo(b []byte) []byte {
	b = o.System.append(b)
	b = binary.LittleEndian.AppendUint16(b, uint16(o.Status))
	return o.Time.append(b)
}

func (o ComponentState) fits(t TypeFlag) bool { return t == TypeComponentState }
func (o ComponentState) appendTo(b []byte) []byte {
	b = o.Component.append(b)
	b = binary.LittleEndian.AppendUint16(b, uint16(o.Status))
	b = appendDescription(b, o.Description)
	return o.Time.append(b)
}

func (o ComponentAnalog) fits(t TypeFlag) bool { return t == TypeComponentAnalog }
func (o ComponentAnalog) appendTo(b []byte) []byte {
	b = o.Component.append(b)
	b = append(b, byte(o.Kind))
	b = binary.LittleEndian.AppendUint16(b, uint16(o.Value))
	return o.Time.append(b)
}

func (o SystemOperation) fits(t TypeFlag) bool { return t == TypeSystemOperation }
func (o SystemOperation) appendTo(b []byte) []byte {
	b = o.System.append(b)
	return o.Time.append(append(b, byte(o.Flags), o.Operator))
}

func (o SystemVersion) fits(t TypeFlag) bool { return t == TypeSystemVersion }
func (o SystemVersion) appendTo(b []byte) []byte {
	return append(o.System.append(b), o.Major, o.Minor)
}

func (o SystemConfig) fits(t TypeFlag) bool { return t == TypeSystemConfig }
func (o SystemConfig) appendTo(b []byte) []byte {
	return appendText(o.System.append(b), o.Text)
}

func (o ComponentConfig) fits(t TypeFlag) bool { return t == TypeComponentConfig }
func (o ComponentConfig) appendTo(b []byte) []byte {
	return appendDescription(o.Component.append(b), o.Description)
}

func (o SystemTime) fits(t TypeFlag) bool { return t == TypeSystemTime }
func (o SystemTime) appendTo(b []byte) []byte {
	return o.Time.append(o.System.append(b))
}

func (o DeviceState) fits(t TypeFlag) bool { return t == TypeDeviceState }
func (o DeviceState) appendTo(b []byte) []byte {
	return o.Time.append(append(b, byte(o.Status)))
}

func (o DeviceOperation) fits(t TypeFlag) bool { return t == TypeDeviceOperation }
func (o DeviceOperation) appendTo(b []byte) []byte {
	return o.Time.append(append(b, byte(o.Flags), o.Operator))
}

func (o DeviceVersion) fits(t TypeFlag) bool      { return t == TypeDeviceVersion }
func (o DeviceVersion) appendTo(b []byte) []byte  { return append(b, o.Major, o.Minor) }
func (o DeviceConfig) fits(t TypeFlag) bool       { return t == TypeDeviceConfig }
func (o DeviceConfig) appendTo(b []byte) []byte   { return appendText(b, o.Text) }
func (o DeviceTime) fits(t TypeFlag) bool         { return t == TypeDeviceTime }
func (o DeviceTime) appendTo(b []byte) []byte     { return o.Time.append(b) }
func (o SystemQuery) appendTo(b []byte) []byte    { return o.System.append(b) }
func (o ComponentQuery) appendTo(b []byte) []byte { return o.Addr.append(o.System.append(b)) }
func (o Reserved) appendTo(b []byte) []byte       { return append(b, o.Byte) }
func (o DutyCheck) fits(t TypeFlag) bool          { return t == TypeDutyCheck }
func (o DutyCheck) appendTo(b []byte) []byte      { return append(b, o.Arg) }
func (o ClockSync) fits(t TypeFlag) bool          { return t == TypeClockSync }

func (o SystemQuery) fits(t TypeFlag) bool {
	return t == TypeReadSystemState || t == TypeReadSystemVer || t == TypeReadSystemConfig || t == TypeReadSystemTime
}

func (o ComponentQuery) fits(t TypeFlag) bool {
	return t == TypeReadComponent || t == TypeReadAnalog || t == TypeReadCompConfig
}

func (o Reserved) fits(t TypeFlag) bool {
	switch t {
	case TypeReadDeviceState, TypeReadDeviceVer, TypeReadDeviceConfig, TypeReadDeviceTime, TypeInitDevice:
		return true
	}
	return false
}

func (o RecordQuery) fits(t TypeFlag) bool { return t == TypeReadSystemOps }
func (o RecordQuery) appendTo(b []byte) []byte {
	return o.Start.append(append(o.System.append(b), o.Count))
}

func (o DeviceRecordQuery) fits(t TypeFlag) bool     { return t == TypeReadDeviceOps }
func (o DeviceRecordQuery) appendTo(b []byte) []byte { return o.Start.append(append(b, o.Count)) }

func (o ClockSync) appendTo(b []byte) []byte {
	if o.HasTime {
		return o.Time.append(b)
	}
	return append(b, o.Reserved)
}
