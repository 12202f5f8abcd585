package rules

import (
	"testing"
	"time"
)

// Devices of one profile share one slot layout, yet each keeps its own
// values and the unit its readings carried.
func TestDevicesShareLayoutKeepOwnValuesAndUnits(t *testing.T) {
	pts := func() map[string]string {
		return map[string]string{"residual_current": "mA", "residual_setpoint": "mA", "alarm_flags": "", "voltage": "V"}
	}
	e, err := NewEngine([]DeviceRules{
		{Device: "efd-1", Specs: []Spec{specR7}, Points: pts()},
		{Device: "efd-2", Specs: []Spec{specR7}, Points: pts()},
		{Device: "efd-3", Specs: []Spec{specR7}, Points: map[string]string{"residual_current": "A", "residual_setpoint": "A", "alarm_flags": ""}},
	})
	if err != nil {
		t.Fatal(err)
	}
	d1, d2, d3 := e.byID["efd-1"], e.byID["efd-2"], e.byID["efd-3"]
	if d1.lay != d2.lay || d1.lay == d3.lay {
		t.Fatalf("layouts: efd-1 %p efd-2 %p efd-3 %p; want 1 and 2 shared, 3 its own", d1.lay, d2.lay, d3.lay)
	}
	var evs []Event
	for i := range 3 {
		at := base.Add(time.Duration(i) * 5 * time.Second)
		evs = append(evs, e.Step(at, []Poll{
			{Device: "efd-1", At: at, OK: true, Readings: []Reading{{Point: "residual_current", Value: 356}, {Point: "alarm_flags"}, {Point: "voltage", Value: 230, Unit: "V"}}},
			{Device: "efd-2", At: at, OK: true, Readings: []Reading{{Point: "residual_current", Value: 0.41, Unit: "A"}, {Point: "alarm_flags"}, {Point: "voltage", Value: 221}}},
		})...)
	}
	if len(evs) != 1 || evs[0].Device != "efd-1" {
		t.Fatalf("events %v, want one R7 open of efd-1", summary(evs))
	}
	ev := evs[0].Evidence
	if ev.Unit != "mA" || *ev.Value != 356 || len(ev.Snapshot) != 2 || *ev.Snapshot["voltage"] != 230 {
		t.Errorf("efd-1 evidence %s", dump(ev))
	}
	if i := d2.lookup("residual_current"); d2.unit(i) != "A" || d1.unit(i) != "mA" || d2.slots[i].latest != 0.41 {
		t.Errorf("efd-2 residual_current: unit %q (efd-1 %q), latest %v", d2.unit(i), d1.unit(i), d2.slots[i].latest)
	}
	if len(d1.extra) != 1 || d1.lookup("residual_current_at_alarm") < len(d1.lay.names) {
		t.Errorf("a rule's point outside Points is the device's own slot: extra %v", d1.extra)
	}
}

// load learns the order of a poll's points; a poll in another order (a
// slow group due) still lands every value in its own slot.
func TestLoadFindsSlotsWhateverTheOrder(t *testing.T) {
	e, err := NewEngine([]DeviceRules{{Device: "m", Points: map[string]string{"a": "V", "b": "A", "c": "W", "d": "Hz"}}})
	if err != nil {
		t.Fatal(err)
	}
	d := e.byID["m"]
	for i, order := range [][]string{{"d", "b", "a"}, {"d", "b", "a"}, {"d", "a"}, {"c", "d", "x", "b", "a"}, {"d", "b", "a"}} {
		var rs []Reading
		for k, n := range order {
			rs = append(rs, Reading{Point: n, Value: float64(10*i + k)})
		}
		d.load(rs)
		for k, n := range order {
			if v, st := d.now(d.lookup(n)); st != good || v != float64(10*i+k) {
				t.Fatalf("poll %d %v: %s = %v (%v), want %d", i, order, n, v, st, 10*i+k)
			}
		}
	}
}
