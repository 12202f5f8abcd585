package rules

import "testing"

func TestHazardCatalog(t *testing.T) {
	// research/domain.md §5(c), hazard-types table.
	codes := []string{
		"smoke_fire_alarm", "smoke_prealarm", "detector_fault", "low_battery", "tamper_removed",
		"chamber_contamination", "residual_current_alarm", "residual_current_prealarm", "leakage_creep",
		"cable_temp_alarm", "cable_temp_prealarm", "temp_rise_rate", "overload", "high_load",
		"over_voltage", "under_voltage", "voltage_deviation", "phase_loss", "phase_sequence", "arc_fault",
		"sensor_wiring_fault", "device_offline", "compound_electrical", "power_fault", "breaker_tripped",
		"uplink_transmission_fault", "setpoint_mismatch", "detector_disabled", "gateway_offline", "gateway_self_test", "uplink_client_id_conflict", "storage_fault",
	}
	if len(Hazards()) != len(codes) {
		t.Errorf("%d hazards, want %d", len(Hazards()), len(codes))
	}
	kinds := map[string]bool{"alarm": true, "hazard": true, "fault": true}
	cats := map[string]bool{"smoke": true, "electrical": true, "device": true, "gateway": true}
	for _, c := range codes {
		h, ok := LookupHazard(c)
		if !ok || h.Code != c || h.Zh == "" || h.En == "" || !kinds[h.Kind] || !cats[h.Category] || h.Level < 1 || h.Level > 4 {
			t.Errorf("%s: %+v, %v", c, h, ok)
		}
	}
	want := map[string]HazardInfo{
		"smoke_fire_alarm":          {"smoke_fire_alarm", "烟感火警", "Smoke fire alarm", "alarm", "smoke", 1, ConditionAlarm, 0, 1},
		"residual_current_alarm":    {"residual_current_alarm", "剩余电流报警", "Residual current alarm", "alarm", "electrical", 2, ConditionAlarm, 17, 1},
		"cable_temp_prealarm":       {"cable_temp_prealarm", "线缆温度预警", "Cable temperature pre-alarm", "hazard", "electrical", 3, ConditionAlarm, 18, -1},
		"compound_electrical":       {"compound_electrical", "电气火灾复合研判", "Compound electrical fire risk", "alarm", "electrical", 1, ConditionAlarm, 16, 1},
		"device_offline":            {"device_offline", "设备离线", "Device offline", "fault", "device", 3, ConditionFault, 0, -1},
		"detector_fault":            {"detector_fault", "探测器故障", "Detector fault", "fault", "device", 3, ConditionFault, 0, 2},
		"power_fault":               {"power_fault", "主电/备电故障", "Power supply fault", "fault", "device", 3, ConditionFault, 0, 8},
		"detector_disabled":         {"detector_disabled", "探测器屏蔽", "Detector disabled", "fault", "device", 3, ConditionDisabled, 0, 3},
		"uplink_transmission_fault": {"uplink_transmission_fault", "传输故障", "Uplink transmission fault", "fault", "gateway", 3, ConditionFault, 0, -1},
	}
	for c, w := range want {
		if h, _ := LookupHazard(c); h != w {
			t.Errorf("%s = %+v, want %+v", c, h, w)
		}
	}
	if _, ok := LookupHazard("smoke_fire"); ok {
		t.Error("unknown code found")
	}
	hs := Hazards()
	hs[0].Code = "changed"
	if h, _ := LookupHazard("smoke_fire_alarm"); h.Code != "smoke_fire_alarm" {
		t.Error("Hazards() shares the catalog")
	}
}

func TestLevelAndGradeZh(t *testing.T) {
	for level, want := range map[int][2]string{
		0: {"", ""}, 1: {"一级", "疑似重大隐患"}, 2: {"二级", "疑似重大隐患"}, 3: {"三级", "一般隐患"}, 4: {"四级", "一般隐患"}, 5: {"", ""},
	} {
		if got := [2]string{LevelZh(level), GradeZh(level)}; got != want {
			t.Errorf("level %d: %v, want %v", level, got, want)
		}
	}
}
