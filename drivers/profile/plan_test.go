package profile

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// pts builds a profile from "name fc address type [access]" lines.
func pts(t *testing.T, maxRead int, lines ...string) *Profile {
	t.Helper()
	p := &Profile{Name: "t", Category: "electrical", MaxRead: maxRead, File: "t.yaml"}
	for _, l := range lines {
		f := strings.Fields(l)
		pt := Point{Name: f[0], Type: f[3]}
		pt.FC = map[string]uint8{"1": 1, "2": 2, "3": 3, "4": 4}[f[1]]
		pt.Address = atoi(t, f[2])
		if len(f) > 4 {
			pt.Access = f[4]
		}
		p.Points = append(p.Points, pt)
	}
	p.applyDefaults()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

func atoi(t *testing.T, s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("bad number %q", s)
		}
		n = 10*n + int(c-'0')
	}
	return n
}

func TestCompilePlans(t *testing.T) {
	smoke := []string{"status 3 0 u16", "fault 3 1 u16", "level 3 2 u16", "c 3 3 u16", "b 3 4 u16",
		"temp 3 5 i16", "thr 3 6 u16 rw", "alarm 3 16 u16", "serial 3 20 u32", "fw 3 22 u16", "cmd 3 32 u16 w"}
	many := make([]string, 0, 130)
	for i := range 130 {
		many = append(many, "r"+itoa(i)+" 4 "+itoa(1000+i)+" u16")
	}
	cases := []struct {
		name    string
		p       *Profile
		opts    PlanOptions
		want    []Request
		wantPts [][]string
	}{
		{"doc example, default gap 8", pts(t, 0, smoke...), PlanOptions{},
			[]Request{{3, 0, 7}, {3, 16, 7}},
			[][]string{{"status", "fault", "level", "c", "b", "temp", "thr"}, {"alarm", "serial", "fw"}}},
		{"gap 10 reads through", pts(t, 0, smoke...), PlanOptions{MaxGap: 10},
			[]Request{{3, 0, 23}}, nil},
		{"no gaps", pts(t, 0, smoke...), PlanOptions{MaxGap: -1},
			[]Request{{3, 0, 7}, {3, 16, 1}, {3, 20, 3}}, nil},
		{"profile max_gap -1", withMaxGap(pts(t, 0, smoke...), -1), PlanOptions{},
			[]Request{{3, 0, 7}, {3, 16, 1}, {3, 20, 3}}, nil},
		{"profile max_gap 10, option -1 wins", withMaxGap(pts(t, 0, smoke...), 10), PlanOptions{MaxGap: -1},
			[]Request{{3, 0, 7}, {3, 16, 1}, {3, 20, 3}}, nil},
		{"profile max_gap 10", withMaxGap(pts(t, 0, smoke...), 10), PlanOptions{},
			[]Request{{3, 0, 23}}, nil},
		{"profile max_read", pts(t, 4, smoke...), PlanOptions{},
			[]Request{{3, 0, 4}, {3, 4, 3}, {3, 16, 1}, {3, 20, 3}}, nil},
		{"option cap below profile cap", pts(t, 4, smoke...), PlanOptions{MaxRead: 2},
			[]Request{{3, 0, 2}, {3, 2, 2}, {3, 4, 2}, {3, 6, 1}, {3, 16, 1}, {3, 20, 2}, {3, 22, 1}}, nil},
		{"split at 125 registers", pts(t, 0, many...), PlanOptions{},
			[]Request{{4, 1000, 125}, {4, 1125, 5}}, nil},
		{"u32 not split across reads", pts(t, 3, "a 3 0 u16", "b 3 1 u16", "c 3 2 u32"), PlanOptions{},
			[]Request{{3, 0, 2}, {3, 2, 2}}, nil},
		{"per fc, fc order, unsorted input", pts(t, 0, "h 3 5 u16", "i 4 0 f32", "c 1 8 bit", "d 2 0 bit", "c2 1 0 bit"),
			PlanOptions{}, []Request{{1, 0, 9}, {2, 0, 1}, {3, 5, 1}, {4, 0, 2}},
			[][]string{{"c2", "c"}, {"d"}, {"h"}, {"i"}}},
		{"bits gap", pts(t, 0, "c 1 0 bit", "c2 1 100 bit"), PlanOptions{},
			[]Request{{1, 0, 1}, {1, 100, 1}}, nil},
		{"write-only register is not read through", pts(t, 0, "a 3 0 u16", "cmd 3 2 u16 w", "b 3 4 u16", "c 3 6 u16"),
			PlanOptions{}, []Request{{3, 0, 1}, {3, 4, 3}}, nil},
		{"write-only only", pts(t, 0, "cmd 3 0 u16 w"), PlanOptions{}, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := Compile(tc.p, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(plan.Requests, tc.want) {
				t.Errorf("requests\n got %v\nwant %v", plan.Requests, tc.want)
			}
			for i, want := range tc.wantPts {
				if got := plan.Points(i); !reflect.DeepEqual(got, want) {
					t.Errorf("points of request %d = %v, want %v", i, got, want)
				}
			}
		})
	}
}

func withMaxGap(p *Profile, gap int) *Profile {
	p.MaxGap = gap
	return p
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}

func TestCompilePointWiderThanCap(t *testing.T) {
	p := pts(t, 1, "a 3 0 u32")
	if _, err := Compile(p, PlanOptions{}); err == nil || !strings.Contains(err.Error(), `point "a"`) {
		t.Fatalf("err = %v, want one naming point a", err)
	}
}

func TestPlanDecode(t *testing.T) {
	p := pts(t, 0, "status 3 0 u16", "t1 3 2 f32", "flag 1 3 bit", "flag0 1 0 bit", "v 4 0 i16")
	p.Points[1].Absent = []float64{-200}
	p.Points[4].Scale = 0.1
	plan, err := Compile(p, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// requests: fc1 @0+4, fc3 @0+4, fc4 @0+1
	resp := [][]byte{{0b1000}, unhex(t, "00 02 00 00 C3 48 00 00"), unhex(t, "FF 85")}
	got, err := plan.Decode(resp)
	if err != nil {
		t.Fatal(err)
	}
	want := []Sample{
		{Point: "status", Value: 2}, {Point: "t1", Value: -200, Absent: true},
		{Point: "flag", Value: 1}, {Point: "flag0", Value: 0}, {Point: "v", Value: -12.3},
	}
	for i := range want {
		if got[i].Point != want[i].Point || !approx(got[i].Value, want[i].Value) || got[i].Absent != want[i].Absent {
			t.Errorf("sample %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if _, err := plan.Decode(resp[:2]); err == nil {
		t.Error("Decode with a missing response must fail")
	}
	short := [][]byte{resp[0], resp[1][:6], resp[2]}
	if _, err := plan.Decode(short); err == nil || !strings.Contains(err.Error(), "fc3 @0+4") {
		t.Errorf("Decode of a short response: err = %v, want one naming fc3 @0+4", err)
	}
}

func TestShippedPlans(t *testing.T) {
	set, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"smoke-detector": "fc3 @0+2 every 1s: status, fault_detail\n" +
			"fc3 @16+1 every 1s: alarm\n" +
			"fc3 @2+4 every 5s: smoke_level, temperature\n" +
			"fc3 @3+2 every 1m: contamination, battery\n" +
			"fc3 @6+1 every 10m: alarm_threshold\n" +
			"fc3 @20+3 every 10m: serial, fw_version\n",
		"smoke-485-basic": "fc3 @16+1 every 1s: alarm\n",
		"peacefair-pzem-004t": "fc4 @9+1 every 1s: power_alarm\n" +
			"fc4 @0+9 every 5s: voltage, current, power, frequency, pf\n" +
			"fc4 @5+2 every 1m: energy\n" +
			"fc3 @1+1 every 10m: power_alarm_threshold\n",
	}
	for _, name := range set.Names() {
		p, _ := set.Get(name)
		plan, err := Compile(p, PlanOptions{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if w, ok := want[name]; ok && plan.String() != w {
			t.Errorf("%s plan:\n%s\nwant:\n%s", name, plan, w)
		}
		for _, r := range plan.Requests {
			if r.Count == 0 || r.Count > 125 {
				t.Errorf("%s: bad request %v", name, r)
			}
		}
	}
}

// TestShippedIntervals pins DESIGN §8.1's classes in the shipped profiles:
// status words 1 s, analog values 5 s, energy 60 s, setpoints 10 min.
func TestShippedIntervals(t *testing.T) {
	set, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]time.Duration{
		"smoke-detector":     {"status": time.Second, "alarm": time.Second, "smoke_level": 5 * time.Second, "alarm_threshold": 10 * time.Minute},
		"electrical-fire-1p": {"alarm_flags": time.Second, "residual_current": 5 * time.Second, "residual_at_alarm": 5 * time.Second, "energy_import": time.Minute, "residual_setpoint": 10 * time.Minute},
		"smart-meter-3p":     {"status": time.Second, "ia": 5 * time.Second, "energy_import": time.Minute, "rated_current": 10 * time.Minute},
		"arc-fault-1p":       {"status": time.Second, "arc_halfcycles_1s": time.Second, "current": 5 * time.Second},
		"chint-dtsu666":      {"ua": 5 * time.Second, "energy_import": time.Minute},
	}
	for name, pts := range want {
		p, _ := set.Get(name)
		for pt, iv := range pts {
			if got := p.PollOf(p.Point(pt)); got != iv {
				t.Errorf("%s %s: poll %v, want %v", name, pt, got, iv)
			}
		}
	}
}

func TestCompileGroupsByInterval(t *testing.T) {
	p := pts(t, 0, "status 3 0 u16", "level 3 1 u16", "alarm 3 2 u16", "energy 3 4 u32", "setp 3 6 u16 rw")
	p.Points[1].Poll = 5 * time.Second
	p.Points[3].Poll = time.Minute
	p.Points[4].Poll = 10 * time.Minute
	plan, err := Compile(p, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// status and alarm share 1 s and the hole at 1 is read through; level,
	// in that hole, is never joined to them but read on its own every 5 s.
	want := "fc3 @0+3 every 1s: status, alarm\n" +
		"fc3 @1+1 every 5s: level\n" +
		"fc3 @4+2 every 1m: energy\n" +
		"fc3 @6+1 every 10m: setp\n"
	if plan.String() != want {
		t.Errorf("plan:\n%swant:\n%s", plan, want)
	}
	wantGroups := []Group{{time.Second, 0, 1}, {5 * time.Second, 1, 2}, {time.Minute, 2, 3}, {10 * time.Minute, 3, 4}}
	if !reflect.DeepEqual(plan.Groups, wantGroups) {
		t.Errorf("groups %v, want %v", plan.Groups, wantGroups)
	}
	// Only the 1 s and 1 min groups read: their points, in profile order.
	got, err := plan.Decode([][]byte{{0, 2, 0, 9, 0, 1}, nil, {0, 0, 0, 7}, nil})
	if err != nil {
		t.Fatal(err)
	}
	wantS := []Sample{{Point: "status", Value: 2}, {Point: "alarm", Value: 1}, {Point: "energy", Value: 7}}
	if !reflect.DeepEqual(got, wantS) {
		t.Errorf("partial decode = %+v, want %+v", got, wantS)
	}
	// A device's poll: overrides every interval: one group, one read.
	one, err := Compile(p, PlanOptions{Poll: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if s := one.String(); s != "fc3 @0+7 every 2s: status, level, alarm, energy, setp\n" || len(one.Groups) != 1 {
		t.Errorf("with poll 2s: %s groups %v", s, one.Groups)
	}
}

func TestIntervalsMustBeMultiples(t *testing.T) {
	bad := `name: t
category: smoke
poll: 3s
points:
  - {name: a, address: 0}
  - {name: b, address: 1, poll: 2s}
  - {name: c, address: 2, poll: 4s}
  - {name: d, address: 3, poll: -1s}
  - {name: e, address: 4, poll: 5s}
`
	_, err := Parse("t.yaml", []byte(bad))
	for _, want := range []string{
		"t.yaml: points[3].poll: -1s must not be negative",
		"t.yaml: poll: 3s is not a multiple of 2s, the profile's fastest interval",
		"t.yaml: points[4].poll: 5s is not a multiple of 2s",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v\nwant it to contain %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "points[2].poll") || strings.Count(err.Error(), "t.yaml: poll:") != 1 {
		t.Errorf("4s is a multiple of 2s, and the profile's poll is reported once: %v", err)
	}
}
