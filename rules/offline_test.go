package rules

import (
	"testing"
	"time"
)

func TestR21Offline(t *testing.T) {
	cases := []struct {
		name string
		step time.Duration
		s    string
		want []string
	}{
		{"3 failures within 30 s: nothing", 5 * time.Second, "0 _ _ _ 0*5", nil},
		{"4 failures spanning 30 s: open at the first", 10 * time.Second, "0 _ _ _ _ _ 0*5",
			[]string{"open R21 @10s", "clear R21 @60s"}},
		{"3 failures spanning 30 s", 15 * time.Second, "0 _ _ _ 0 0 0", []string{"open R21 @15s", "clear R21 @60s"}},
		{"a good poll resets the failures", 10 * time.Second, "0 _ _ _ 0 _ _ _ 0", nil},
		{"a failure resets the good polls", 15 * time.Second, "_ _ _ 0 0 _ 0 0 0",
			[]string{"open R21 @0s", "clear R21 @90s"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustEngine(t, "sd-1", specR21)
			evs := runEach(e, series(t, "sd-1", base, c.step, one("status", c.s), nil))
			wantSummary(t, evs, c.want...)
			for _, ev := range evs {
				if ev.Evidence.Point != "" || ev.Evidence.Snapshot != nil {
					t.Errorf("offline evidence %+v", ev.Evidence)
				}
			}
			if len(evs) > 0 && evs[0].Evidence.Window != "30s/3 failed polls" {
				t.Errorf("window %q", evs[0].Evidence.Window)
			}
		})
	}
}

func TestAlarmStaysOpenWhileOffline(t *testing.T) {
	// R1 opens, the detector goes silent for a minute, comes back with the
	// alarm gone. No R1 clear while offline; the first good polls only
	// clear R21; R1 clears on two fresh reads after that.
	cols := map[string]string{
		"status": "2 2 2 _*7 0 0 0 0 0 0",
		"alarm":  "0 0 0 _*7 0 0 0 0 0 0",
	}
	e := mustEngine(t, "sd-1", specR1, specR21)
	evs := runEach(e, series(t, "sd-1", base, 10*time.Second, cols, nil))
	wantSummary(t, evs, "open R1 @0s", "open R21 @30s", "clear R21 @100s", "clear R1 @120s")
	if evs[0].TicketID != evs[3].TicketID {
		t.Errorf("R1 tickets %q / %q", evs[0].TicketID, evs[3].TicketID)
	}
}

func TestOfflineFreezesAndRestartsPendingRuns(t *testing.T) {
	// R3 needs 10 s: one fault read before the outage, one right after it
	// comes back: the run restarts on return, so it opens at the return.
	cols := map[string]string{"status": "4 _*4 4 4 4 4 4 4 4 4 4 4 4 4 4 4"}
	spec21 := specR21
	spec21.For, spec21.ClearSamples = 0, 1
	e := mustEngine(t, "sd-1", specR3, spec21)
	evs := runEach(e, series(t, "sd-1", base, 5*time.Second, cols, nil))
	// Offline from 5 s (3 failures), back at 25 s (1 good poll clears).
	wantSummary(t, evs, "open R21 @5s", "clear R21 @25s", "open R3 @25s")
	// Nothing for R3 while R21 is open, though the polls said "fault".
	for _, ev := range evs {
		if ev.Rule == "R3" && ev.At.Before(at(25)) {
			t.Errorf("R3 event while offline: %+v", ev)
		}
	}
}

func TestFrozenWhileReturning(t *testing.T) {
	// During the 3 good polls that clear R21, R1 stays frozen even though
	// the detector reports fire; it opens from fresh reads afterwards.
	cols := map[string]string{
		"status": "0 _*4 2 2 2 2 2",
		"alarm":  "0 _*4 0 0 0 0 0",
	}
	e := mustEngine(t, "sd-1", specR1, specR21)
	polls := series(t, "sd-1", base, 10*time.Second, cols, nil)
	evs := runEach(e, polls[:6])
	if st := e.Explain(at(50)); st[0].Phase != Inactive || !st[0].Frozen || st[1].Phase != Clearing {
		t.Errorf("while returning: R1 %+v, R21 %+v", st[0], st[1])
	}
	evs = append(evs, runEach(e, polls[6:])...)
	wantSummary(t, evs, "open R21 @10s", "clear R21 @50s", "open R1 @70s")
}

func TestClockBackwards(t *testing.T) {
	e := mustEngine(t, "sd-1", specR1, specR21, specR3)
	mk := func(sec int, st float64) Poll {
		return Poll{Device: "sd-1", At: at(sec), OK: true, Readings: []Reading{{Point: "status", Value: st}, {Point: "alarm", Value: 0}}}
	}
	var evs []Event
	step := func(p Poll) []Event {
		got := e.Step(p.At, []Poll{p})
		evs = append(evs, got...)
		return got
	}
	step(mk(100, 2))
	step(mk(101, 2)) // R1 opens at 100
	step(mk(102, 4)) // R3 pending from 102
	if got := step(mk(40, 4)); len(got) != 0 {
		t.Fatalf("the backward poll emitted %v", summary(got))
	}
	if got := step(mk(40, 4)); len(got) != 0 { // same time again
		t.Fatalf("a repeated time emitted %v", summary(got))
	}
	for s := 41; s <= 60; s++ {
		step(mk(s, 4))
	}
	// R3's run restarted at 41 and needs 10 s; R1 (bit1 gone) clears from
	// 41. Until the clock passes 102 s again, event times are held at 102 s,
	// the latest time seen before the step back.
	wantSummary(t, evs, "open R1 @100s", "clear R1 @102s", "open R3 @102s")
	evs = nil
	step(mk(200, 2))
	step(mk(201, 2))
	wantSummary(t, evs, "open R1 @200s")
	// a zero time and a far past time do not panic
	e.Step(time.Time{}, []Poll{{Device: "sd-1", OK: false}})
	e.Step(base, []Poll{{Device: "sd-1", At: time.Unix(0, 0), OK: true}})
}
