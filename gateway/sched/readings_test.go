package sched

import (
	"testing"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// Recycled readings are reused by ToReadings, with the new values only;
// the polls given back no longer hold them.
func TestRecycledReadingsAreReused(t *testing.T) {
	three := []profile.Sample{{Point: "a", Value: 1, Unit: "V"}, {Point: "b", Value: 2, Absent: true}, {Point: "c", Value: 3}}
	polls := []rules.Poll{{Device: "d", OK: true, Readings: ToReadings(three)}, {Device: "gw"}}
	Recycle(polls)
	if polls[0].Readings != nil {
		t.Error("a recycled poll still holds its readings")
	}
	for range 3 { // sync.Pool may drop an entry: only the values are checked
		got := ToReadings(three[:2])
		want := []rules.Reading{{Point: "a", Value: 1, Unit: "V"}, {Point: "b", Value: 2, Quality: rules.Absent}}
		if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Fatalf("ToReadings = %v, want %v", got, want)
		}
		Recycle([]rules.Poll{{Readings: got}})
	}
	if got := ToReadings(append(three, profile.Sample{Point: "d"})); len(got) != 4 || got[3].Point != "d" {
		t.Errorf("a longer sweep than the recycled slices: %v", got)
	}
}
