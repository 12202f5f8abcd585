package rules

// HazardInfo describes one hazard code of the ticket contract
// (DESIGN.md §5, research/domain.md §5(c)).
type HazardInfo struct {
	Code     string // "residual_current_alarm"
	Zh       string // "剩余电流报警"
	En       string // "Residual current alarm"
	Kind     string // alarm | hazard | fault
	Category string // smoke | electrical | device | gateway
	Level    int    // default level 1..4 when a rule sets none
	// Condition is what an open episode of this hazard says about its
	// device (GB/T 45839 Annex D status): alarm and hazard kinds are
	// 报警, faults 故障, detector_disabled 屏蔽.
	Condition Condition
	// ComponentType is the GB/T 26875.3 component type of the part of a
	// device this hazard is about, where it is more precise than the
	// device's own (a combined detector's residual-current channel is 17,
	// its temperature channels 18); 0: the device's (its profile's).
	ComponentType int
	// StatusBit is the GB/T 26875.3 component status bit the hazard sets
	// (1 火警, 2 故障, 3 屏蔽, 8 电源故障); -1: none (an analog pre-alarm or
	// trend has no component status bit; a gateway or link fault is the
	// transmission device's state, not a component's).
	StatusBit int
}

// Condition is a device's state in GB/T 45839 Annex D terms, ordered by
// severity: a device's state is the worst condition among its open
// episodes (2 报警 > 3 故障 > 4 屏蔽 > 1 正常监视).
type Condition uint8

// Conditions, least severe first.
const (
	ConditionNormal   Condition = iota // 1 正常监视: nothing open
	ConditionDisabled                  // 4 屏蔽: the device reports itself disabled
	ConditionFault                     // 3 故障
	ConditionAlarm                     // 2 报警: an alarm or hazard episode is open
)

// String returns normal, disabled, fault or alarm.
func (c Condition) String() string {
	switch c {
	case ConditionDisabled:
		return "disabled"
	case ConditionFault:
		return "fault"
	case ConditionAlarm:
		return "alarm"
	}
	return "normal"
}

// GBT45839Status is the GB/T 45839 Annex D status code of c: 1 正常监视,
// 2 报警, 3 故障, 4 屏蔽.
func (c Condition) GBT45839Status() int {
	switch c {
	case ConditionDisabled:
		return 4
	case ConditionFault:
		return 3
	case ConditionAlarm:
		return 2
	}
	return 1
}

// Kinds and categories of the catalog.
const (
	KindAlarm  = "alarm"
	KindHazard = "hazard"
	KindFault  = "fault"

	CategorySmoke      = "smoke"
	CategoryElectrical = "electrical"
	CategoryDevice     = "device"
	CategoryGateway    = "gateway"
)

// hazards is the catalog in the order of research/domain.md §5(c).
var hazards = []HazardInfo{
	{"smoke_fire_alarm", "烟感火警", "Smoke fire alarm", KindAlarm, CategorySmoke, 1, ConditionAlarm, 0, 1},
	{"smoke_prealarm", "烟雾浓度预警", "Smoke pre-alarm", KindHazard, CategorySmoke, 3, ConditionAlarm, 0, -1},
	{"detector_fault", "探测器故障", "Detector fault", KindFault, CategoryDevice, 3, ConditionFault, 0, 2},
	{"low_battery", "电池欠压", "Low battery", KindFault, CategoryDevice, 4, ConditionFault, 0, 8},
	{"tamper_removed", "探测器脱离底座", "Detector removed from base", KindFault, CategoryDevice, 3, ConditionFault, 0, 2},
	{"chamber_contamination", "迷宫污染", "Smoke chamber contaminated", KindFault, CategoryDevice, 4, ConditionFault, 0, 2},
	{"residual_current_alarm", "剩余电流报警", "Residual current alarm", KindAlarm, CategoryElectrical, 2, ConditionAlarm, 17, 1},
	{"residual_current_prealarm", "剩余电流预警", "Residual current pre-alarm", KindHazard, CategoryElectrical, 3, ConditionAlarm, 17, -1},
	{"leakage_creep", "漏电流持续上升", "Leakage current creeping up", KindHazard, CategoryElectrical, 3, ConditionAlarm, 17, -1},
	{"cable_temp_alarm", "线缆温度报警", "Cable temperature alarm", KindAlarm, CategoryElectrical, 2, ConditionAlarm, 18, 1},
	{"cable_temp_prealarm", "线缆温度预警", "Cable temperature pre-alarm", KindHazard, CategoryElectrical, 3, ConditionAlarm, 18, -1},
	{"temp_rise_rate", "温升异常", "Abnormal temperature rise", KindHazard, CategoryElectrical, 2, ConditionAlarm, 18, -1},
	{"overload", "过载", "Overload", KindHazard, CategoryElectrical, 3, ConditionAlarm, 0, -1},
	{"high_load", "负载率过高", "High load", KindHazard, CategoryElectrical, 4, ConditionAlarm, 0, -1},
	{"over_voltage", "过压", "Over-voltage", KindHazard, CategoryElectrical, 2, ConditionAlarm, 0, -1},
	{"under_voltage", "欠压", "Under-voltage", KindHazard, CategoryElectrical, 3, ConditionAlarm, 0, -1},
	{"voltage_deviation", "电压偏差超限", "Voltage out of range", KindHazard, CategoryElectrical, 4, ConditionAlarm, 0, -1},
	{"phase_loss", "缺相", "Phase loss", KindFault, CategoryElectrical, 2, ConditionFault, 0, 2},
	{"phase_sequence", "相序错误", "Phase sequence error", KindFault, CategoryElectrical, 2, ConditionFault, 0, 2},
	{"arc_fault", "故障电弧", "Arc fault", KindAlarm, CategoryElectrical, 2, ConditionAlarm, 0, 1},
	{"sensor_wiring_fault", "传感器接线故障", "Sensor wiring fault", KindFault, CategoryDevice, 3, ConditionFault, 0, 2},
	{"device_offline", "设备离线", "Device offline", KindFault, CategoryDevice, 3, ConditionFault, 0, -1},
	{"compound_electrical", "电气火灾复合研判", "Compound electrical fire risk", KindAlarm, CategoryElectrical, 1, ConditionAlarm, 16, 1},
	{"power_fault", "主电/备电故障", "Power supply fault", KindFault, CategoryDevice, 3, ConditionFault, 0, 8},
	{"breaker_tripped", "断路器跳闸", "Breaker tripped", KindHazard, CategoryElectrical, 2, ConditionAlarm, 0, -1},
	{"uplink_transmission_fault", "传输故障", "Uplink transmission fault", KindFault, CategoryGateway, 3, ConditionFault, 0, -1},
	{"uplink_client_id_conflict", "客户端标识冲突", "Uplink client id conflict", KindFault, CategoryGateway, 3, ConditionFault, 0, -1},
	{"setpoint_mismatch", "设定值异常", "Setpoint mismatch", KindFault, CategoryDevice, 4, ConditionFault, 0, -1},
	{"detector_disabled", "探测器屏蔽", "Detector disabled", KindFault, CategoryDevice, 3, ConditionDisabled, 0, 3},
	{"gateway_offline", "网关离线", "Gateway offline", KindFault, CategoryGateway, 3, ConditionFault, 0, -1},
	{"gateway_self_test", "网关自检", "Gateway self-test", KindFault, CategoryGateway, 4, ConditionFault, 0, -1},
	{"storage_fault", "存储故障", "Storage fault", KindFault, CategoryGateway, 3, ConditionFault, 0, -1},
}

var hazardIndex = func() map[string]int {
	m := make(map[string]int, len(hazards))
	for i, h := range hazards {
		m[h.Code] = i
	}
	return m
}()

// LookupHazard returns the catalog entry of code.
func LookupHazard(code string) (HazardInfo, bool) {
	i, ok := hazardIndex[code]
	if !ok {
		return HazardInfo{}, false
	}
	return hazards[i], true
}

// Hazards returns a copy of the whole catalog, in a stable order.
func Hazards() []HazardInfo {
	return append([]HazardInfo(nil), hazards...)
}

// hazardCodes lists the catalog's codes (for did-you-mean hints).
func hazardCodes() []string {
	out := make([]string, len(hazards))
	for i, h := range hazards {
		out[i] = h.Code
	}
	return out
}

var levelsZh = [...]string{"", "一级", "二级", "三级", "四级"}

// LevelZh returns 一级..四级 for levels 1..4, "" otherwise.
func LevelZh(level int) string {
	if level < 1 || level > 4 {
		return ""
	}
	return levelsZh[level]
}

// GradeZh returns 疑似重大隐患 for levels 1–2 and 一般隐患 for 3–4
// (DESIGN.md §8.2: levels 1–2 are 重大隐患 candidates), "" otherwise. The
// wording is a candidate's on purpose: whether a hazard is a 重大火灾隐患 is
// the fire authority's determination under GB 35181, never a sensor's
// (docs/tickets.md §2.2).
func GradeZh(level int) string {
	switch {
	case level == 1 || level == 2:
		return "疑似重大隐患"
	case level == 3 || level == 4:
		return "一般隐患"
	}
	return ""
}
