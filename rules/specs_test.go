package rules

import "time"

// The default rules of DESIGN.md §8.3, as the shipped profiles write them.
var (
	specR1 = Spec{ID: "R1", Hazard: "smoke_fire_alarm", Type: "status", Level: 1,
		When:       []BitCond{{Point: "status", Bits: []int{1}}, {Point: "alarm", Equals: f(1)}},
		MinSamples: 2, ClearSamples: 2}
	specR7 = Spec{ID: "R7", Hazard: "residual_current_alarm", Type: "threshold", Level: 2,
		Points: []string{"residual_current"}, Threshold: 300, ThresholdPoint: "residual_setpoint",
		HysteresisPct: 10, When: []BitCond{{Point: "alarm_flags", Bits: []int{0}}},
		For: 10 * time.Second, MinSamples: 3, ClearFor: 60 * time.Second}
	specR10 = Spec{ID: "R10", Hazard: "cable_temp_alarm", Type: "threshold", Level: 2,
		Points: []string{"t1", "t2", "t3", "t4"}, Threshold: 70, ThresholdPoint: "temp_setpoint",
		Hysteresis: 5, For: 10 * time.Second, MinSamples: 3, ClearFor: 60 * time.Second}
	specR13 = Spec{ID: "R13", Hazard: "overload", Type: "threshold", Level: 3,
		Points: []string{"current"}, Threshold: 63, ThresholdPoint: "rated_current", HysteresisPct: 5,
		When: []BitCond{{Point: "alarm_flags", Bits: []int{5}}}, For: 60 * time.Second, ClearFor: 5 * time.Minute,
		Escalate: []Escalation{{Level: 2, ThresholdFactor: 1.05, For: 60 * time.Second}}}
	specR12 = Spec{ID: "R12", Hazard: "temp_rise_rate", Type: "rate", Level: 2,
		Points:     []string{"t1", "t2", "t3", "t4"},
		Slopes:     []SlopeCond{{Window: 10 * time.Minute, Slope: 1, MinValue: f(45)}, {Window: 2 * time.Minute, Slope: 4}},
		ClearSlope: 0.5, ClearFor: 10 * time.Minute}
	specR22 = Spec{ID: "R22", Hazard: "compound_electrical", Type: "compound", Level: 1,
		AllOf: []RuleGroup{{AnyOf: []string{"R7", "R8"}}, {AnyOf: []string{"R10", "R12"}}}, Within: 10 * time.Minute}
	specR16 = Spec{ID: "R16", Hazard: "under_voltage", Type: "threshold", Level: 3,
		Points: []string{"voltage"}, Op: "below", Threshold: 187, Hysteresis: 11,
		For: 10 * time.Second, ClearFor: 60 * time.Second}
	specR21 = Spec{ID: "R21", Hazard: "device_offline", Type: "offline", Level: 2,
		Failures: 3, For: 30 * time.Second, ClearSamples: 3}
	specR3 = Spec{ID: "R3", Hazard: "detector_fault", Type: "status",
		When: []BitCond{{Point: "status", Bits: []int{2}}}, For: 10 * time.Second, ClearFor: 60 * time.Second}
)
