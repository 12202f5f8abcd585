package gb26875

import (
	"fmt"
	"strings"
)

// SystemType is the 系统类型 of a building fire facility (GB/T 26875.3-2011
// 8.2.1.1). fenghuo reports under SystemFireAlarm: the 2011 edition has no
// electrical-fire system type (docs/gb26875.md says why this one).
type SystemType uint8

// System types used or seen here.
const (
	SystemGeneral   SystemType = 0 // 通用
	SystemFireAlarm SystemType = 1 // 火灾报警系统
)

// ComponentType is the 部件类型 (GB/T 26875.3-2011 8.2.1.2, table of
// component types). Only those fenghuo sends, and a few near them, are named.
type ComponentType uint8

// Component types.
const (
	ComponentGeneral             ComponentType = 0  // 通用
	ComponentFireAlarmController ComponentType = 1  // 火灾报警控制器
	ComponentElectricalFire      ComponentType = 16 // 电气火灾监控报警器 (combined)
	ComponentResidualCurrent     ComponentType = 17 // 剩余电流式电气火灾监控探测器
	ComponentTemperature         ComponentType = 18 // 测温式电气火灾监控探测器
	ComponentManualCallPoint     ComponentType = 23 // 手动火灾报警按钮
	ComponentFireDetector        ComponentType = 25 // 火灾探测器
	ComponentSmoke               ComponentType = 40 // 感烟火灾探测器
	ComponentPointPhotoelectric  ComponentType = 42 // 点型光电感烟火灾探测器
)

var componentNames = map[ComponentType]string{
	ComponentGeneral: "general", ComponentFireAlarmController: "fire alarm controller",
	ComponentElectricalFire: "electrical-fire monitor", ComponentResidualCurrent: "residual-current detector",
	ComponentTemperature: "temperature detector", ComponentManualCallPoint: "manual call point",
	ComponentFireDetector: "fire detector", ComponentSmoke: "smoke detector",
	ComponentPointPhotoelectric: "point photoelectric smoke detector",
}

func (c ComponentType) String() string {
	if n, ok := componentNames[c]; ok {
		return fmt.Sprintf("%s(%d)", n, uint8(c))
	}
	return fmt.Sprintf("component type %d", uint8(c))
}

// ComponentStatus is a component's 2-byte status word (8.2.1.2).
type ComponentStatus uint16

// Component status bits. By the standard's text bit 0 set means normal
// operation and clear means test (测试状态); yet the standard's own worked
// example sends a real fire alarm as 0x0002, so a centre cannot be relied on
// to read a clear bit 0 as "test". fenghuo sets bit 0 on every real state
// and never sets the fire bit on a test (docs/gb26875.md §5).
const (
	StatusNormal      ComponentStatus = 1 << 0 // 正常运行 (0 = 测试)
	StatusFire        ComponentStatus = 1 << 1 // 火警
	StatusFault       ComponentStatus = 1 << 2 // 故障
	StatusDisabled    ComponentStatus = 1 << 3 // 屏蔽
	StatusSupervisory ComponentStatus = 1 << 4 // 监管
	StatusStarted     ComponentStatus = 1 << 5 // 启动 (开启)
	StatusFeedback    ComponentStatus = 1 << 6 // 反馈
	StatusDelay       ComponentStatus = 1 << 7 // 延时
	StatusPowerFault  ComponentStatus = 1 << 8 // 电源故障
)

var componentBits = []string{"normal", "fire", "fault", "disabled", "supervisory", "started", "feedback", "delay", "power-fault"}

func (s ComponentStatus) String() string { return bitNames(uint64(s), 16, componentBits, "test") }

// SystemStatus is a fire facility system's 2-byte status word (8.2.1.1):
// the component bits 0–7, then its own.
type SystemStatus uint16

// System status bits.
const (
	SysNormal           SystemStatus = 1 << 0  // 正常运行 (0 = 测试)
	SysFire             SystemStatus = 1 << 1  // 火警
	SysFault            SystemStatus = 1 << 2  // 故障
	SysDisabled         SystemStatus = 1 << 3  // 屏蔽
	SysSupervisory      SystemStatus = 1 << 4  // 监管
	SysStarted          SystemStatus = 1 << 5  // 启动
	SysFeedback         SystemStatus = 1 << 6  // 反馈
	SysDelay            SystemStatus = 1 << 7  // 延时
	SysMainPowerFault   SystemStatus = 1 << 8  // 主电故障
	SysBackupPowerFault SystemStatus = 1 << 9  // 备电故障
	SysBusFault         SystemStatus = 1 << 10 // 总线故障
	SysManual           SystemStatus = 1 << 11 // 手动状态 (0 = 自动)
	SysConfigChanged    SystemStatus = 1 << 12 // 配置改变
	SysReset            SystemStatus = 1 << 13 // 复位
)

var systemBits = []string{"normal", "fire", "fault", "disabled", "supervisory", "started", "feedback", "delay",
	"main-power-fault", "backup-power-fault", "bus-fault", "manual", "config-changed", "reset"}

func (s SystemStatus) String() string { return bitNames(uint64(s), 16, systemBits, "test") }

// DeviceStatus is the user information transmission device's (the
// gateway's) 1-byte state (8.2.1.8), upload type 21.
type DeviceStatus uint8

// Transmission-device state bits.
const (
	DevNormal             DeviceStatus = 1 << 0 // 正常监视 (0 = 测试)
	DevFire               DeviceStatus = 1 << 1 // 火警
	DevFault              DeviceStatus = 1 << 2 // 故障
	DevMainPowerFault     DeviceStatus = 1 << 3 // 主电故障
	DevBackupPowerFault   DeviceStatus = 1 << 4 // 备电故障
	DevCentreLinkFault    DeviceStatus = 1 << 5 // 与监控中心通信信道故障
	DevMonitoredLinkFault DeviceStatus = 1 << 6 // 监测连接线路故障
)

var deviceBits = []string{"normal", "fire", "fault", "main-power-fault", "backup-power-fault", "centre-link-fault", "monitored-link-fault"}

func (s DeviceStatus) String() string { return bitNames(uint64(s), 8, deviceBits, "test") }

// OperationFlags is a fire facility's operation byte (8.2.1.4), type 4.
type OperationFlags uint8

// Facility operation bits.
const (
	OpReset       OperationFlags = 1 << 0 // 复位
	OpMute        OperationFlags = 1 << 1 // 消音
	OpManualAlarm OperationFlags = 1 << 2 // 手动报警
	OpAlarmClear  OperationFlags = 1 << 3 // 警情消除
	OpSelfTest    OperationFlags = 1 << 4 // 自检
	OpConfirm     OperationFlags = 1 << 5 // 确认
	OpTest        OperationFlags = 1 << 6 // 测试
)

var opBits = []string{"reset", "mute", "manual-alarm", "alarm-clear", "self-test", "confirm", "test"}

func (o OperationFlags) String() string { return bitNames(uint64(o), 8, opBits, "none") }

// DeviceOperationFlags is the transmission device's operation byte
// (8.2.1.9), type 24. Bit 5 is the duty-check answer (查岗应答).
type DeviceOperationFlags uint8

// Transmission-device operation bits.
const (
	DevOpReset       DeviceOperationFlags = 1 << 0 // 复位
	DevOpMute        DeviceOperationFlags = 1 << 1 // 消音
	DevOpManualAlarm DeviceOperationFlags = 1 << 2 // 手动报警
	DevOpAlarmClear  DeviceOperationFlags = 1 << 3 // 警情消除
	DevOpSelfTest    DeviceOperationFlags = 1 << 4 // 自检
	DevOpDutyAnswer  DeviceOperationFlags = 1 << 5 // 查岗应答
	DevOpTest        DeviceOperationFlags = 1 << 6 // 测试
)

var devOpBits = []string{"reset", "mute", "manual-alarm", "alarm-clear", "self-test", "duty-answer", "test"}

func (o DeviceOperationFlags) String() string { return bitNames(uint64(o), 8, devOpBits, "none") }

// AnalogKind is the 模拟量类型 of a type-3 value (8.2.1.3).
type AnalogKind uint8

// Analog kinds with their units; the value is an int16 in the unit's step.
const (
	AnalogEventCount  AnalogKind = 1  // 事件计数, 1
	AnalogHeight      AnalogKind = 2  // 高度, 0.01 m
	AnalogTemperature AnalogKind = 3  // 温度, 0.1 °C
	AnalogPressureMPa AnalogKind = 4  // 压力, 0.1 MPa
	AnalogPressureKPa AnalogKind = 5  // 压力, 0.1 kPa
	AnalogGas         AnalogKind = 6  // 气体浓度, 0.1 %LEL
	AnalogTime        AnalogKind = 7  // 时间, 1 s
	AnalogVoltage     AnalogKind = 8  // 电压, 0.1 V
	AnalogCurrent     AnalogKind = 9  // 电流, 0.1 A
	AnalogFlow        AnalogKind = 10 // 流量, 0.1 L/s
	AnalogAirVolume   AnalogKind = 11 // 风量, 0.1 m³/min
	AnalogWindSpeed   AnalogKind = 12 // 风速, 1 m/s

	// AnalogResidualCurrent is fenghuo's user-defined kind (128–255 are
	// 用户自行定义) for residual current in 1 mA: kind 9 (0.1 A) would
	// round a 300 mA setpoint to 3. A centre that does not know it ignores it.
	AnalogResidualCurrent AnalogKind = 128
)

type analogUnit struct {
	name, unit string
	step       float64
}

var analogUnits = map[AnalogKind]analogUnit{
	AnalogEventCount: {"count", "", 1}, AnalogHeight: {"height", "m", 0.01},
	AnalogTemperature: {"temperature", "°C", 0.1}, AnalogPressureMPa: {"pressure", "MPa", 0.1},
	AnalogPressureKPa: {"pressure", "kPa", 0.1}, AnalogGas: {"gas", "%LEL", 0.1},
	AnalogTime: {"time", "s", 1}, AnalogVoltage: {"voltage", "V", 0.1},
	AnalogCurrent: {"current", "A", 0.1}, AnalogFlow: {"flow", "L/s", 0.1},
	AnalogResidualCurrent: {"residual current (fenghuo kind 128)", "mA", 1},
	AnalogAirVolume:       {"air volume", "m³/min", 0.1}, AnalogWindSpeed: {"wind speed", "m/s", 1},
}

// Scale is the unit step of k (0.1 for temperature) and its unit; ok is
// false for a kind the standard does not define.
func (k AnalogKind) Scale() (step float64, unit string, ok bool) {
	u, ok := analogUnits[k]
	return u.step, u.unit, ok
}

func (k AnalogKind) String() string {
	if u, ok := analogUnits[k]; ok {
		return u.name
	}
	return fmt.Sprintf("analog kind %d", uint8(k))
}

// bitNames lists the set bits of v by name. For a status word (zeroName
// "test") a clear bit 0 shows as "bit0-clear(test)": the text's test state,
// or a sender that leaves bit 0 clear on real states, as the worked example
// does; an operation byte with no bit set is zeroName.
func bitNames(v uint64, width int, names []string, zeroName string) string {
	var out []string
	if zeroName == "test" && v&1 == 0 {
		out = append(out, "bit0-clear(test)")
	}
	for i := range width {
		if v&(1<<i) == 0 {
			continue
		}
		if i < len(names) {
			out = append(out, names[i])
		} else {
			out = append(out, fmt.Sprintf("bit%d", i))
		}
	}
	if len(out) == 0 {
		return zeroName
	}
	return strings.Join(out, "+")
}
