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
	{"smoke_fire_alarm", "烟感火警", "Smoke fire alarm", KindAlarm, CategorySmoke, 1},
	{"smoke_prealarm", "烟雾浓度预警", "Smoke pre-alarm", KindHazard, CategorySmoke, 3},
	{"detector_fault", "探测器故障", "Detector fault", KindFault, CategoryDevice, 3},
	{"low_battery", "电池欠压", "Low battery", KindFault, CategoryDevice, 4},
	{"tamper_removed", "探测器脱离底座", "Detector removed from base", KindFault, CategoryDevice, 3},
	{"chamber_contamination", "迷宫污染", "Smoke chamber contaminated", KindFault, CategoryDevice, 4},
	{"residual_current_alarm", "剩余电流报警", "Residual current alarm", KindAlarm, CategoryElectrical, 2},
	{"residual_current_prealarm", "剩余电流预警", "Residual current pre-alarm", KindHazard, CategoryElectrical, 3},
	{"leakage_creep", "漏电流持续上升", "Leakage current creeping up", KindHazard, CategoryElectrical, 3},
	{"cable_temp_alarm", "线缆温度报警", "Cable temperature alarm", KindAlarm, CategoryElectrical, 2},
	{"cable_temp_prealarm", "线缆温度预警", "Cable temperature pre-alarm", KindHazard, CategoryElectrical, 3},
	{"temp_rise_rate", "温升异常", "Abnormal temperature rise", KindHazard, CategoryElectrical, 2},
	{"overload", "过载", "Overload", KindHazard, CategoryElectrical, 3},
	{"high_load", "负载率过高", "High load", KindHazard, CategoryElectrical, 4},
	{"over_voltage", "过压", "Over-voltage", KindHazard, CategoryElectrical, 2},
	{"under_voltage", "欠压", "Under-voltage", KindHazard, CategoryElectrical, 3},
	{"voltage_deviation", "电压偏差超限", "Voltage out of range", KindHazard, CategoryElectrical, 4},
	{"phase_loss", "缺相", "Phase loss", KindFault, CategoryElectrical, 2},
	{"phase_sequence", "相序错误", "Phase sequence error", KindFault, CategoryElectrical, 2},
	{"arc_fault", "故障电弧", "Arc fault", KindAlarm, CategoryElectrical, 2},
	{"sensor_wiring_fault", "传感器接线故障", "Sensor wiring fault", KindFault, CategoryDevice, 3},
	{"device_offline", "设备离线", "Device offline", KindFault, CategoryDevice, 3},
	{"compound_electrical", "电气火灾复合研判", "Compound electrical fire risk", KindAlarm, CategoryElectrical, 1},
	{"power_fault", "主电/备电故障", "Power supply fault", KindFault, CategoryDevice, 3},
	{"breaker_tripped", "断路器跳闸", "Breaker tripped", KindHazard, CategoryElectrical, 2},
	{"uplink_transmission_fault", "传输故障", "Uplink transmission fault", KindFault, CategoryGateway, 3},
	{"setpoint_mismatch", "设定值异常", "Setpoint mismatch", KindFault, CategoryDevice, 4},
	{"gateway_offline", "网关离线", "Gateway offline", KindFault, CategoryGateway, 3},
	{"gateway_self_test", "网关自检", "Gateway self-test", KindFault, CategoryGateway, 4},
	{"storage_fault", "存储故障", "Storage fault", KindFault, CategoryGateway, 3},
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

// GradeZh returns 重大隐患 for levels 1–2 and 一般隐患 for 3–4
// (DESIGN.md §8.2), "" otherwise.
func GradeZh(level int) string {
	switch {
	case level == 1 || level == 2:
		return "重大隐患"
	case level == 3 || level == 4:
		return "一般隐患"
	}
	return ""
}
