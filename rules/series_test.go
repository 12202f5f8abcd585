package rules

import (
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// base is the time of the first poll in every test.
var base = time.Date(2026, 11, 29, 8, 15, 2, 0, time.UTC)

// at returns base + i seconds.
func at(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }

// series builds the polls of one device from aligned columns, one poll per
// token, step apart, starting at start. Tokens:
//
//	310    a good reading
//	a      an Absent reading (sentinel)
//	-      the point is missing from the poll
//	_      the poll failed (in any column: the whole poll)
//	310*5  the token repeated five times (any token: _*3, a*2)
//
// consts are good readings added to every successful poll.
func series(t testing.TB, dev string, start time.Time, step time.Duration, cols map[string]string, consts map[string]float64) []Poll {
	t.Helper()
	names := make([]string, 0, len(cols))
	for n := range cols {
		names = append(names, n)
	}
	sort.Strings(names)
	toks := map[string][]string{}
	length := -1
	for _, n := range names {
		toks[n] = expand(cols[n])
		if length >= 0 && len(toks[n]) != length {
			t.Fatalf("series: column %s has %d tokens, want %d", n, len(toks[n]), length)
		}
		length = len(toks[n])
	}
	polls := make([]Poll, 0, length)
	for i := 0; i < length; i++ {
		p := Poll{Device: dev, At: start.Add(time.Duration(i) * step), OK: true}
		for _, n := range names {
			r, ok, failed := token(t, n, toks[n][i])
			if failed {
				p.OK, p.Err, p.Readings = false, "timeout", nil
				break
			}
			if ok {
				p.Readings = append(p.Readings, r)
			}
		}
		if p.OK {
			for _, n := range sortedKeys(consts) {
				p.Readings = append(p.Readings, Reading{Point: n, Value: consts[n]})
			}
		}
		polls = append(polls, p)
	}
	return polls
}

func expand(s string) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		tok, rep, ok := strings.Cut(f, "*")
		n := 1
		if ok {
			n, _ = strconv.Atoi(rep)
		}
		for range n {
			out = append(out, tok)
		}
	}
	return out
}

// token decodes one token: a reading to add, whether to add one, whether
// the poll failed.
func token(t testing.TB, point, tok string) (r Reading, add, failed bool) {
	switch tok {
	case "_":
		return r, false, true
	case "-":
		return r, false, false
	case "a":
		return Reading{Point: point, Value: -200, Quality: Absent}, true, false
	}
	v, err := strconv.ParseFloat(tok, 64)
	if err != nil {
		t.Fatalf("series: bad token %q", tok)
	}
	return Reading{Point: point, Value: v}, true, false
}

func sortedKeys(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// one is a single-point column set.
func one(point, s string) map[string]string { return map[string]string{point: s} }

// runEach steps e with each poll on its own, now = the poll's time.
func runEach(e *Engine, polls []Poll) []Event {
	var out []Event
	for _, p := range polls {
		out = append(out, e.Step(p.At, []Poll{p})...)
	}
	return out
}

// mustEngine builds an engine of one device with specs.
func mustEngine(t testing.TB, dev string, specs ...Spec) *Engine {
	t.Helper()
	e, err := NewEngine([]DeviceRules{{Device: dev, Specs: specs}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// summary renders events compactly: "open R7 @12s", "clear R7 @95s"
// (seconds after base).
func summary(evs []Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Kind.String() + " " + ev.Rule + " @" + strconv.Itoa(int(ev.At.Sub(base)/time.Second)) + "s"
	}
	return out
}

func wantSummary(t *testing.T, evs []Event, want ...string) {
	t.Helper()
	got := summary(evs)
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("events:\n got  %q\n want %q", got, want)
	}
}

func f(v float64) *float64 { return &v }
