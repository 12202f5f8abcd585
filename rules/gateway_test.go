package rules

import "testing"

func TestR25GradedOnTheGatewayPseudoDevice(t *testing.T) {
	e, err := NewEngine([]DeviceRules{GatewayRules("gw-1"), {Device: "sd-1", Specs: []Spec{specR1}}})
	if err != nil {
		t.Fatal(err)
	}
	// link fine; fault raised at 100 s; link back at 300 s with 40
	// records to drain, drained at 320 s
	var evs []Event
	for i := 0; i <= 400; i += 5 {
		raised, backlog := i >= 100 && i < 300, 0
		if i >= 100 && i < 320 {
			backlog = 40
		}
		evs = append(evs, e.Step(at(i), []Poll{TransmissionPoll("gw-1", at(i), raised, backlog)})...)
	}
	wantSummary(t, evs, "open R25 @100s", "clear R25 @320s")
	if evs[0].Hazard != "uplink_transmission_fault" || evs[0].Level != 3 || evs[0].Device != "gw-1" {
		t.Errorf("open %+v", evs[0])
	}
	if got := e.Open(); len(got) != 0 {
		t.Errorf("open after the clear: %+v", got)
	}
	if p := TransmissionPoll("gw-1", at(0), false, 3); len(p.Readings) != 0 || !p.OK {
		t.Errorf("draining poll %+v", p)
	}
}

// TestR28ClientIDConflict: R28 opens while the uplink reports a client id
// conflict and clears when it ends, independently of R25.
func TestR28ClientIDConflict(t *testing.T) {
	e, err := NewEngine([]DeviceRules{GatewayRules("gw-1")})
	if err != nil {
		t.Fatal(err)
	}
	var evs []Event
	for i := 0; i <= 100; i += 5 {
		p := TransmissionPoll("gw-1", at(i), false, 0)
		p.Readings = append(p.Readings, ClientIDConflictReading(i >= 20 && i < 60))
		evs = append(evs, e.Step(at(i), []Poll{p})...)
	}
	wantSummary(t, evs, "open R28 @20s", "clear R28 @60s")
	if evs[0].Hazard != "uplink_client_id_conflict" || evs[0].Level != 3 || evs[0].Device != "gw-1" {
		t.Errorf("open %+v", evs[0])
	}
}
