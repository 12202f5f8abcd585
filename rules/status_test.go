package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestR1StatusBitConfirm(t *testing.T) {
	cases := []struct {
		name, status, alarm string
		want                []string
	}{
		{"two reads open at the first", "0 2 2 2 0 0", "0*6", []string{"open R1 @1s", "clear R1 @4s"}},
		{"one read does not", "0 2 0 2 0 0", "0*6", nil},
		{"register 0x0010 = 1 also opens", "0*4", "0 1 1 1", []string{"open R1 @1s"}},
		{"bit or register, mixed", "0 2 0 0 0", "0 0 1 0 0", []string{"open R1 @1s", "clear R1 @3s"}},
		{"a failed poll between reads", "0 2 _ 2 0 _ 0", "0*7", []string{"open R1 @1s", "clear R1 @4s"}},
		{"other status bits are no fire", "0 4 4 5 256", "0*5", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustEngine(t, "sd-1", specR1)
			cols := map[string]string{"status": c.status, "alarm": c.alarm}
			evs := runEach(e, series(t, "sd-1", base, time.Second, cols, nil))
			wantSummary(t, evs, c.want...)
			for _, ev := range evs {
				if ev.Level != 1 || ev.Hazard != "smoke_fire_alarm" || ev.OccurrenceCount != 1 {
					t.Errorf("event %+v", ev)
				}
			}
		})
	}
}

func TestLevelDefaultsToTheHazard(t *testing.T) {
	s := specR3
	s.Level = 0
	e := mustEngine(t, "sd-1", s)
	evs := runEach(e, series(t, "sd-1", base, time.Second, one("status", "4*11"), nil))
	if len(evs) != 1 || evs[0].Level != 3 {
		t.Fatalf("events %+v", evs)
	}
}

func TestBurstOfTwentySmokeAlarms(t *testing.T) {
	var devs []DeviceRules
	for i := range 20 {
		devs = append(devs, DeviceRules{Device: fmt.Sprintf("sd-%02d", i), Specs: []Spec{specR1, specR21}})
	}
	e, err := NewEngine(devs)
	if err != nil {
		t.Fatal(err)
	}
	// Device i starts alarming at 3i s; every device is polled every 1 s;
	// the gateway steps once a second with all 20 polls.
	var evs []Event
	for s := range 65 {
		var batch []Poll
		for i := 19; i >= 0; i-- { // reverse order: the output must not care
			st := 0.0
			if s >= 3*i {
				st = 2
			}
			batch = append(batch, Poll{Device: fmt.Sprintf("sd-%02d", i), At: at(s), OK: true,
				Readings: []Reading{{Point: "status", Value: st}, {Point: "alarm", Value: 0}}})
		}
		evs = append(evs, e.Step(at(s), batch)...)
	}
	if len(evs) != 20 {
		t.Fatalf("%d events, want 20: %v", len(evs), summary(evs))
	}
	ids := map[string]bool{}
	for i, ev := range evs {
		if ev.Kind != Open || ev.At != at(3*i) || ev.Device != fmt.Sprintf("sd-%02d", i) {
			t.Errorf("event %d: %s %s at %v", i, ev.Kind, ev.Device, ev.At.Sub(base))
		}
		ids[ev.TicketID] = true
	}
	if len(ids) != 20 {
		t.Errorf("%d distinct ticket ids, want 20", len(ids))
	}
}

func TestSameMillisecondAcrossDevicesIsOrdered(t *testing.T) {
	e, err := NewEngine([]DeviceRules{{Device: "b", Specs: []Spec{specR1}}, {Device: "a", Specs: []Spec{specR1}}})
	if err != nil {
		t.Fatal(err)
	}
	var batch []Poll
	for _, d := range []string{"b", "a"} {
		batch = append(batch, series(t, d, base, time.Second, map[string]string{"status": "2 2", "alarm": "0 0"}, nil)...)
	}
	evs := e.Step(at(1), batch)
	if len(evs) != 2 || evs[0].Device != "a" || evs[1].Device != "b" {
		t.Fatalf("order %+v", evs)
	}
}

func TestR3FlappingBitOpensOnceClearsOnce(t *testing.T) {
	// R3 (10 s to open, 60 s to clear), 1 s polls: a fault bit flapping
	// every second never opens; held for 10 s it opens; flapping again
	// for 5 min never clears; 60 s of quiet clears, once.
	flap := strings.Repeat("4 0 ", 60)
	s := flap + "4*11 " + strings.Repeat("0 4 ", 150) + "0*61"
	e := mustEngine(t, "sd-1", specR3)
	wantSummary(t, runEach(e, series(t, "sd-1", base, time.Second, one("status", s), nil)), "open R3 @120s", "clear R3 @431s")
}
