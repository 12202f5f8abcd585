package rules

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

// fuzzDevices is a smoke detector and an electrical fire detector with
// short windows, so that random sequences reach every phase.
func fuzzDevices() []DeviceRules {
	r21 := specR21
	r21.For = 5 * time.Second
	r7 := specR7
	r7.For, r7.ClearFor = 2*time.Second, 4*time.Second
	r3 := specR3
	r3.For, r3.ClearFor = 2*time.Second, 3*time.Second
	r3.Escalate = []Escalation{{Level: 2, IfOpen: []string{"R1"}}}
	testMode := &BitCond{Point: "status", Equals: f(15)}
	r3.TestMode = testMode
	r1 := specR1
	r1.TestMode = testMode
	r7.Escalate = []Escalation{{Level: 1, ThresholdFactor: 1.3, For: 2 * time.Second}}
	r7.TestMode = &BitCond{Point: "alarm_flags", Bits: []int{3}}
	r10 := specR10
	r10.Escalate = []Escalation{{Level: 1, IfOpen: []string{"R7"}}, {Level: 1, Count: 2, Within: time.Minute}}
	r17 := specR17
	r17.Points, r17.Band, r17.Hysteresis, r17.IgnoreBelow = []string{"t1", "t3"}, &Band{Low: 10, High: 100}, 5, f(2)
	r17.For, r17.ClearFor = 3*time.Second, 3*time.Second
	r12 := Spec{ID: "R12", Hazard: "temp_rise_rate", Type: TypeRate, Points: []string{"t1", "t3"}, Per: time.Second,
		Slopes:     []SlopeCond{{Window: 20 * time.Second, Slope: 1, Samples: 3}, {Window: time.Minute, Slope: 0.5, MinValue: f(40)}},
		ClearSlope: 0.2, ClearFor: 5 * time.Second,
		Escalate: []Escalation{{Level: 1, ThresholdFactor: 2, For: 2 * time.Second}}}
	r22 := specR22
	r22.AllOf, r22.Within = []RuleGroup{{AnyOf: []string{"R7"}}, {AnyOf: []string{"R10", "R12", "R24b"}}}, 10*time.Second
	// The condition forms in, above, below and all, on every rule kind that
	// takes them: a threshold rule's extra trigger, status rules (R24's
	// shape), a test mode, an escalation and a compound member.
	r7.When = append(slices.Clone(r7.When), BitCond{All: []BitCond{{Point: "alarm_flags", In: []float64{6}}, {Point: "t3", Above: f(50)}}})
	r24 := Spec{ID: "R24", Hazard: "breaker_tripped", Type: TypeStatus, Level: 2,
		When:     []BitCond{{All: []BitCond{{Point: "alarm_flags", In: []float64{2, 3}}, {Point: "alarm", Equals: f(1)}}}},
		TestMode: &BitCond{Point: "t3", Above: f(150)}}
	r24b := Spec{ID: "R24b", Hazard: "breaker_tripped", Type: TypeStatus, Level: 3,
		When: []BitCond{{All: []BitCond{{Point: "t1", Above: f(30)}, {Point: "residual_current", Below: f(300)}}},
			{Point: "alarm_flags", In: []float64{9}}},
		For: 2 * time.Second, ClearFor: 2 * time.Second, Escalate: []Escalation{{Level: 2, IfOpen: []string{"R24"}}}}
	r18 := Spec{ID: "R18a", Hazard: "phase_loss", Type: TypeStatus, Level: 2,
		When: []BitCond{{All: []BitCond{{Point: "t1", Below: f(20)}, {Point: "t3", Above: f(40)}}}, {Point: "status", Bits: []int{3}}},
		For:  time.Second, ClearFor: 3 * time.Second}
	return []DeviceRules{
		{Device: "sd", Specs: []Spec{r3, r1, r21}},
		{Device: "efd", Specs: []Spec{r22, r7, r12, r10, r17, r24, r24b, r18, r21}},
	}
}

// fuzzPolls turns bytes into polls, three bytes a poll:
//
//	b0 bit0 device, bits1-3 time step (7: the clock steps back 50 s),
//	   bits4-5 == 0: the poll fails
//	b1 bits0-3 status / alarm_flags word, bits4-6 t3's offset from t1
//	   (×10 °C), bit7 alarm
//	b2 analog value: 0..249 → 0..498 (×2; temperatures ÷4), 250 missing,
//	   251 NaN, 252 bad quality, 253..255 absent
func fuzzPolls(data []byte) []Poll {
	var polls []Poll
	now := base
	for i := 0; i+2 < len(data); i += 3 {
		b0, b1, b2 := data[i], data[i+1], data[i+2]
		dev := []string{"sd", "efd"}[b0&1]
		if dt := (b0 >> 1) & 7; dt == 7 {
			now = now.Add(-50 * time.Second)
		} else {
			now = now.Add(time.Duration(dt) * time.Second)
		}
		p := Poll{Device: dev, At: now, OK: (b0>>4)&3 != 0}
		if !p.OK {
			polls = append(polls, p)
			continue
		}
		word := float64(b1 & 0x0f)
		p.Readings = []Reading{{Point: "status", Value: word}, {Point: "alarm", Value: float64(b1 >> 7)}, {Point: "alarm_flags", Value: word}}
		for _, pt := range []string{"residual_current", "t1", "t3"} {
			switch {
			case b2 < 250:
				v := float64(b2) * 2
				if pt != "residual_current" {
					v /= 4
				}
				if pt == "t3" {
					v += float64((b1>>4)&7) * 10
				}
				p.Readings = append(p.Readings, Reading{Point: pt, Value: v})
			case b2 == 251:
				p.Readings = append(p.Readings, Reading{Point: pt, Value: math.NaN()})
			case b2 == 252:
				p.Readings = append(p.Readings, Reading{Point: pt, Value: 1, Quality: Bad})
			case b2 > 252:
				p.Readings = append(p.Readings, Reading{Point: pt, Value: -200, Quality: Absent})
			}
		}
		polls = append(polls, p)
	}
	return polls
}

// checkStream verifies the engine's invariants over a whole event stream.
type streamChecker struct {
	open      map[string]Event     // ticket → its open event
	level     map[string]int       // ticket → its current level
	seen      map[string]bool      // tickets ever opened
	lastAt    map[string]time.Time // device/rule → last event At
	offline   map[string]bool      // device → its offline hazard is open
	offlineID map[string]string    // device → offline rule id
}

func newStreamChecker(devs []DeviceRules) *streamChecker {
	c := &streamChecker{open: map[string]Event{}, level: map[string]int{}, seen: map[string]bool{}, lastAt: map[string]time.Time{},
		offline: map[string]bool{}, offlineID: map[string]string{}}
	for _, d := range devs {
		for _, s := range d.Specs {
			if s.Type == TypeOffline {
				c.offlineID[d.Device] = s.ID
			}
		}
	}
	return c
}

func (c *streamChecker) batch(evs []Event) error {
	for i, ev := range evs {
		if i > 0 && ev.At.Before(evs[i-1].At) {
			return fmt.Errorf("step output not in time order: %v", summary(evs))
		}
		if err := c.event(ev); err != nil {
			return err
		}
	}
	return nil
}

func (c *streamChecker) event(ev Event) error {
	if ev.Level < 1 || ev.Level > 4 {
		return fmt.Errorf("level %d: %+v", ev.Level, ev)
	}
	key := ev.Device + "/" + ev.Rule
	if ev.At.Before(c.lastAt[key]) {
		return fmt.Errorf("%s went back in time: %v after %v", key, ev.At, c.lastAt[key])
	}
	c.lastAt[key] = ev.At
	isOffline := ev.Rule == c.offlineID[ev.Device]
	if c.offline[ev.Device] && !isOffline {
		return fmt.Errorf("event for offline device: %+v", ev)
	}
	switch ev.Kind {
	case Open:
		if c.seen[ev.TicketID] {
			return fmt.Errorf("ticket %s opened twice", ev.TicketID)
		}
		for _, o := range c.open {
			if o.Device == ev.Device && o.Rule == ev.Rule {
				return fmt.Errorf("second open episode of %s", key)
			}
		}
		c.seen[ev.TicketID], c.open[ev.TicketID], c.level[ev.TicketID] = true, ev, ev.Level
		if isOffline {
			c.offline[ev.Device] = true
		}
	case Test:
		if c.seen[ev.TicketID] {
			return fmt.Errorf("test ticket %s seen before", ev.TicketID)
		}
		for _, o := range c.open {
			if o.Device == ev.Device && o.Rule == ev.Rule {
				return fmt.Errorf("test event while a real episode of %s is open", key)
			}
		}
		c.seen[ev.TicketID] = true
	case Escalate:
		o, ok := c.open[ev.TicketID]
		if !ok || o.Device != ev.Device || o.Rule != ev.Rule || ev.Level >= c.level[ev.TicketID] {
			return fmt.Errorf("escalate without its open or not more urgent (level %d): %+v", c.level[ev.TicketID], ev)
		}
		c.level[ev.TicketID] = ev.Level
	case Clear:
		o, ok := c.open[ev.TicketID]
		if !ok || o.Device != ev.Device || o.Rule != ev.Rule || c.level[ev.TicketID] != ev.Level {
			return fmt.Errorf("clear without its open, or not at its level: %+v", ev)
		}
		delete(c.open, ev.TicketID)
		if isOffline {
			c.offline[ev.Device] = false
		}
	default:
		return fmt.Errorf("unexpected kind %v", ev.Kind)
	}
	return nil
}

func FuzzEngine(f *testing.F) {
	f.Add([]byte{0x12, 0x02, 10, 0x12, 0x02, 10, 0x12, 0x02, 10, 0x12, 0, 10, 0x12, 0, 10})
	f.Add([]byte{0x13, 0x01, 200, 0x13, 0x01, 200, 0x13, 0, 200, 0x13, 0, 200, 0x13, 0, 10, 0x13, 0, 10, 0x13, 0, 10})
	f.Add([]byte{0x02, 0, 0, 0x02, 0, 0, 0x02, 0, 0, 0x02, 0, 0, 0x12, 0x82, 0, 0x12, 0x82, 0, 0x12, 0x82, 0, 0x12, 0, 0})
	f.Add([]byte{0x13, 0, 160, 0x13, 0, 160, 0x1f, 0, 160, 0x13, 0, 160, 0x13, 0, 253, 0x13, 0, 251})
	// R24's shape: alarm with flags 2 opens; NaN and bad readings change
	// nothing; flags 0 clears.
	f.Add([]byte{0x13, 0x82, 100, 0x13, 0x82, 251, 0x13, 0x00, 251, 0x13, 0x00, 252, 0x13, 0x00, 100, 0x13, 0x72, 20})
	seed := make([]byte, 0, 600)
	for i := range 200 {
		seed = append(seed, byte(i*37+11), byte(i*13), byte(i*i*7))
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		devs := fuzzDevices()
		e, err := NewEngine(devs)
		if err != nil {
			t.Fatal(err)
		}
		c := newStreamChecker(devs)
		polls := fuzzPolls(data)
		for len(polls) > 0 { // batches of 1..3 polls
			n := min(len(polls), 1+len(polls)%3)
			if err := c.batch(e.Step(polls[0].At, polls[:n])); err != nil {
				t.Fatal(err)
			}
			polls = polls[n:]
		}
		if got := len(e.Open()); got != len(c.open) {
			t.Fatalf("engine has %d open, the stream %d", got, len(c.open))
		}
		for _, rs := range e.Explain(base) {
			if rs.Frozen && !c.offline[rs.Device] {
				t.Fatalf("frozen but not offline: %+v", rs)
			}
		}
	})
}
