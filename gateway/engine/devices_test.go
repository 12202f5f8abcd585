package engine

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/rules"
)

func readings(spec string) []rules.Reading {
	var rs []rules.Reading
	for _, f := range strings.Fields(spec) {
		var v float64
		name, val, _ := strings.Cut(f, "=")
		fmt.Sscan(val, &v)
		rs = append(rs, rules.Reading{Point: name, Value: v})
	}
	return rs
}

func TestMergeReadingsKeepsEachPointsLatestInFirstReadOrder(t *testing.T) {
	for _, c := range []struct {
		polls []string
		want  string
	}{
		{[]string{"a=1 b=2 c=3 d=4", "b=5", "a=6 d=7"}, "a=6 b=5 c=3 d=7"},
		{[]string{"status=1", "status=0 level=9", "level=8 status=2"}, "status=2 level=8"},
		{[]string{"a=1 b=2", "c=3 a=4", "b=5 c=6 d=7"}, "a=4 b=5 c=6 d=7"},
		{[]string{"a=1 b=2 c=3", "c=4 b=5 a=6"}, "a=6 b=5 c=4"},
	} {
		var latest []rules.Reading
		for _, p := range c.polls {
			latest = mergeReadings(latest, readings(p))
		}
		if want := readings(c.want); !slices.Equal(latest, want) {
			t.Errorf("%q: got %v, want %v", c.polls, latest, want)
		}
	}
}

// A view is a copy: the next poll, merged in place, does not change it.
func TestDeviceViewIsNotChangedByLaterPolls(t *testing.T) {
	ds := NewDevices([]Device{{}})
	ds.list[0].Config.ID = "d1"
	ds.byID = map[string]int{"d1": 0}
	ds.NotePoll(rules.Poll{Device: "d1", OK: true, Readings: readings("a=1 b=2")})
	v, _ := ds.View("d1")
	snap := ds.Snapshot()
	ds.NotePoll(rules.Poll{Device: "d1", OK: true, Readings: readings("a=3")})
	if v.Values[0].Value != 1 || snap[0].Values[0].Value != 1 {
		t.Errorf("a view changed: %v, %v", v.Values, snap[0].Values)
	}
	if v2, _ := ds.View("d1"); v2.Values[0].Value != 3 {
		t.Errorf("latest a = %v, want 3", v2.Values[0].Value)
	}
}

func BenchmarkMergeReadings100(b *testing.B) {
	var all strings.Builder
	for i := range 100 {
		fmt.Fprintf(&all, "r%d=%d ", i, i)
	}
	poll := readings(all.String())
	latest := mergeReadings(nil, poll)
	b.ReportAllocs()
	for b.Loop() {
		latest = mergeReadings(latest, poll)
	}
}

// A device's latest values are kept against its profile's points: each
// point's latest reading, in profile order, with the unit and quality it
// came with; a point outside the profile is kept too.
func TestDeviceLatestValuesAgainstTheProfile(t *testing.T) {
	set, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := set.Get("smoke-detector")
	ds := NewDevices([]Device{{Config: config.Device{ID: "s1"}, Profile: p}, {Config: config.Device{ID: "s2"}, Profile: p}})
	if ds.latest[0].tab != ds.latest[1].tab {
		t.Error("devices of one profile must share its point table")
	}
	polls := []string{"status=0 fault_detail=0 smoke_level=0.01 battery=90 alarm=0", "status=2 alarm=1", "smoke_level=0.2 extra=5"}
	for _, s := range polls {
		ds.NotePoll(rules.Poll{Device: "s1", OK: true, Readings: readings(s)})
	}
	ds.NotePoll(rules.Poll{Device: "s1", OK: false, Err: "timeout"})
	ds.NotePoll(rules.Poll{Device: "s1", OK: true, Readings: []rules.Reading{{Point: "battery", Value: 80, Unit: "%", Quality: rules.Absent}}})
	v, _ := ds.View("s1")
	var got []string
	for _, r := range v.Values {
		got = append(got, fmt.Sprintf("%s=%g%s/%s", r.Point, r.Value, r.Unit, r.Quality))
	}
	want := []string{"status=2/good", "fault_detail=0/good", "smoke_level=0.2/good", "battery=80%/absent", "alarm=1/good", "extra=5/good"}
	if !slices.Equal(got, want) {
		t.Errorf("latest values\n got  %v\n want %v", got, want)
	}
	if v2, _ := ds.View("s2"); len(v2.Values) != 0 {
		t.Errorf("s2 was never polled: %v", v2.Values)
	}
}

// A reload's new device set keeps the latest values of the devices it
// shares with the old one (carryStats).
func TestCarryStatsKeepsLatestValues(t *testing.T) {
	set, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := set.Get("smoke-detector")
	old := NewDevices([]Device{{Config: config.Device{ID: "s1"}, Profile: p}})
	old.NotePoll(rules.Poll{Device: "s1", OK: true, Readings: []rules.Reading{{Point: "status", Value: 2}, {Point: "battery", Value: 80, Unit: "%"}}})
	next := NewDevices([]Device{{Config: config.Device{ID: "s1"}, Profile: p}, {Config: config.Device{ID: "s2"}, Profile: p}})
	next.carryStats(old)
	v, _ := next.View("s1")
	if len(v.Values) != 2 || v.Values[0].Point != "status" || v.Values[0].Value != 2 || v.Values[1].Unit != "%" || v.OK != 1 {
		t.Errorf("s1 after the reload: %+v", v)
	}
}
