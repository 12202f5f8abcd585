package linebudget

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// At 9600 baud 8N1 a character is 10 bits: 1/960 s. t3.5 is 3.5 characters
// of 11 bits: 38.5/9600 s.
const (
	char9600 = time.Second / 960
	t35_9600 = 385 * time.Second / 96000
)

func TestWireTimeOfOneRead(t *testing.T) {
	b, err := Compute(Line{Name: "rs485-1"}, []Read{{Device: "d1", FC: 3, Count: 2, Interval: time.Second, First: true}})
	if err != nil {
		t.Fatal(err)
	}
	// request 8 characters, reply 1+1+1+4+2 = 9, t3.5 before, 5 ms turnaround
	want := t35_9600 + 17*char9600 + DefaultTurnaround
	if got := b.Costs[0].Wire; absDur(got-want) > time.Microsecond {
		t.Fatalf("wire %v, want %v", got, want)
	}
	if b.Char != char9600 || absDur(b.Gap-t35_9600) > time.Microsecond {
		t.Fatalf("char %v gap %v", b.Char, b.Gap)
	}
	if math.Abs(b.Load-float64(want)/float64(time.Second)) > 1e-6 || b.Over() {
		t.Fatalf("load %v over %v", b.Load, b.Over())
	}
}

func TestFramingAndReplySizes(t *testing.T) {
	cases := []struct {
		line  Line
		fc    uint8
		count uint16
		chars int
		char  time.Duration
	}{
		{Line{Baud: 19200, Parity: "E"}, 4, 10, 8 + 25, time.Second * 11 / 19200},
		{Line{Baud: 9600, StopBits: 2}, 1, 9, 8 + 7, time.Second * 11 / 9600},
		{Line{Baud: 115200}, 2, 2000, 8 + 255, time.Second * 10 / 115200},
	}
	for _, c := range cases {
		b, err := Compute(c.line, []Read{{Device: "d", FC: c.fc, Count: c.count, Interval: time.Second, Turnaround: time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		want := b.Gap + time.Duration(c.chars)*c.char + time.Millisecond
		if b.Char != c.char || b.Costs[0].Wire != want {
			t.Errorf("%+v fc%d×%d: char %v wire %v, want %v %v", c.line, c.fc, c.count, b.Char, b.Costs[0].Wire, c.char, want)
		}
	}
	// above 19200 baud t3.5 is a fixed 1.75 ms; minimal means none
	if b, _ := Compute(Line{Baud: 115200}, nil); b.Gap != 1750*time.Microsecond {
		t.Errorf("gap at 115200: %v", b.Gap)
	}
	if b, _ := Compute(Line{Gap: -1}, nil); b.Gap != 0 {
		t.Errorf("minimal gap: %v", b.Gap)
	}
	if b, _ := Compute(Line{Gap: 20 * time.Millisecond}, nil); b.Gap != 20*time.Millisecond {
		t.Errorf("stated gap: %v", b.Gap)
	}
}

// 32 detectors on one 9600-baud line, each reading its status words (2
// registers) every second and 10 analog registers every 5 s: the status
// reads alone take ~0.86 of the line, so the line is over 80 % and the
// budget stretches everything by one factor.
func TestThirtyTwoDetectorsAt9600(t *testing.T) {
	var reads []Read
	for i := range 32 {
		d := fmt.Sprintf("smoke-%02d", i+1)
		reads = append(reads,
			Read{Device: d, FC: 3, Count: 2, Interval: time.Second, First: true},
			Read{Device: d, FC: 4, Count: 10, Interval: 5 * time.Second})
	}
	b, err := Compute(Line{Name: "rs485-1"}, reads)
	if err != nil {
		t.Fatal(err)
	}
	status := t35_9600 + 17*char9600 + DefaultTurnaround
	analog := t35_9600 + 33*char9600 + DefaultTurnaround
	want := 32*float64(status)/float64(time.Second) + 32*float64(analog)/float64(5*time.Second)
	if math.Abs(b.Load-want) > 1e-6 || !b.Over() {
		t.Fatalf("load %.4f, want %.4f (over)", b.Load, want)
	}
	k := b.Load / WarnLoad // first groups are over 80 % alone: one factor for all
	for _, c := range b.Costs {
		if c.Keep < time.Duration(float64(c.Interval)*k) || c.Keep%(100*time.Millisecond) != 0 {
			t.Fatalf("%s fc%d keep %v for interval %v, factor %.3f", c.Device, c.FC, c.Keep, c.Interval, k)
		}
	}
	var kept float64
	for _, c := range b.Costs {
		kept += float64(c.Wire) / float64(c.Keep)
	}
	if kept > WarnLoad+1e-9 {
		t.Fatalf("kept intervals load the line %.3f", kept)
	}
}

// When the status reads fit, they keep their interval and only the slower
// groups stretch.
func TestStatusWordsKeepTheirIntervalFirst(t *testing.T) {
	var reads []Read
	for i := range 10 {
		d := fmt.Sprint("efd-", i)
		reads = append(reads,
			Read{Device: d, FC: 3, Count: 2, Interval: time.Second, First: true},
			Read{Device: d, FC: 3, Count: 60, Interval: time.Second})
	}
	b, err := Compute(Line{Name: "l"}, reads)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Over() || b.FirstLoad >= WarnLoad {
		t.Fatalf("load %.3f first %.3f: the case needs an overload the first groups fit in", b.Load, b.FirstLoad)
	}
	var kept float64
	for _, c := range b.Costs {
		if c.First && c.Keep != c.Interval {
			t.Fatalf("%s status read stretched to %v", c.Device, c.Keep)
		}
		if !c.First && c.Keep <= c.Interval {
			t.Fatalf("%s slow read kept at %v", c.Device, c.Keep)
		}
		kept += float64(c.Wire) / float64(c.Keep)
	}
	if kept > WarnLoad+1e-9 {
		t.Fatalf("kept intervals load the line %.3f", kept)
	}
}

func TestBadReadsNameTheDevice(t *testing.T) {
	cases := []struct {
		line Line
		r    Read
		want string
	}{
		{Line{Name: "l"}, Read{Device: "d7", FC: 5, Count: 1, Interval: time.Second}, "device d7: fc5 is not a read"},
		{Line{Name: "l"}, Read{Device: "d7", FC: 3, Count: 126, Interval: time.Second}, "device d7: fc3 reads 1..125 registers, not 126"},
		{Line{Name: "l"}, Read{Device: "d7", FC: 3, Count: 1}, "device d7: read fc3 has no interval"},
		{Line{Name: "l", Baud: 100}, Read{Device: "d7", FC: 3, Count: 1, Interval: time.Second}, "line l: baud 100"},
		{Line{Name: "l", Parity: "X"}, Read{Device: "d7", FC: 3, Count: 1, Interval: time.Second}, `line l: parity "X"`},
	}
	for _, c := range cases {
		_, err := Compute(c.line, []Read{c.r})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err %v, want %q", c.r, err, c.want)
		}
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
