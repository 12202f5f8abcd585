package sim

import (
	"fmt"
	"time"
)

// selfTest is how a profile's detector shows a self-test press: which bit
// says "self-test running", which bit is the alarm it raises, and the
// command register value that starts one.
type selfTest struct {
	runPoint   string
	runBit     int
	alarmPoint string
	alarmBit   int
	command    string  // the command point; "" if the model has none
	code       float64 // the command value that starts a self-test
}

// selfTests are the profiles whose simulated detector can play a
// self-test press (DESIGN §8.1): the smoke detector raises fault_detail
// bit7 (self-test running) with status bit1 (fire alarm); command 3 starts
// one.
var selfTests = map[string]selfTest{
	"smoke-detector": {runPoint: "fault_detail", runBit: 7, alarmPoint: "status", alarmBit: 1, command: "command", code: 3},
}

// DefaultSelfTestHold is how long a self-test started by the command
// register keeps its alarm bit up.
const DefaultSelfTestHold = 3 * time.Second

// PressSelfTest plays a self-test press as a real detector does: the
// self-test-running bit and the alarm bit rise together; the alarm bit
// drops after hold, and the self-test-running bit hold/2 later (a detector
// ends its self-test after its alarm, so a master never reads the alarm
// without the self-test flag). done, if not nil, is closed when the press
// is over. A master writing the profile's self-test command value to its
// command register starts one of DefaultSelfTestHold. A profile without a
// self-test is an error.
func (d *Device) PressSelfTest(hold time.Duration, done chan<- struct{}) error {
	st, ok := selfTests[d.prof.Name]
	if !ok {
		return fmt.Errorf("sim %s: this profile's detector has no self-test to press", d.prof.Name)
	}
	if hold <= 0 {
		return fmt.Errorf("sim %s: self-test hold %s must be positive", d.prof.Name, hold)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pressLocked(st, hold, done)
	return nil
}

// SelfTesting reports whether a self-test press is being played.
func (d *Device) SelfTesting() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.selfTesting
}

// pressLocked starts a press; the caller holds d.mu.
func (d *Device) pressLocked(st selfTest, hold time.Duration, done chan<- struct{}) {
	d.setBitLocked(st.runPoint, st.runBit, true)
	d.setBitLocked(st.alarmPoint, st.alarmBit, true)
	d.selfTesting = true
	d.afterChange()
	time.AfterFunc(hold, func() {
		d.mu.Lock()
		d.setBitLocked(st.alarmPoint, st.alarmBit, false)
		d.afterChange()
		d.mu.Unlock()
		time.AfterFunc(hold/2, func() {
			d.mu.Lock()
			d.setBitLocked(st.runPoint, st.runBit, false)
			d.selfTesting = false
			d.afterChange()
			d.mu.Unlock()
			if done != nil {
				close(done)
			}
		})
	})
}

// setBitLocked sets or clears a bit of a u16 point; the caller holds d.mu.
func (d *Device) setBitLocked(point string, bit int, on bool) {
	pt := d.prof.Point(point)
	if pt == nil {
		return
	}
	t, a := d.tables[pt.FC-1], uint16(pt.Address)
	if on {
		t[a] |= 1 << bit
	} else {
		t[a] &^= 1 << bit
	}
}

// commandWritten starts a self-test when a master wrote the self-test
// code to the command register (a write of count holding registers from
// addr); the register keeps the value written, as a master may read it
// back. The caller holds d.mu.
func (d *Device) commandWritten(addr, count int) {
	st, ok := selfTests[d.prof.Name]
	if !ok || st.command == "" {
		return
	}
	pt := d.prof.Point(st.command)
	if pt == nil || pt.FC != 3 || pt.Address < addr || pt.Address >= addr+count {
		return
	}
	if float64(d.tables[2][uint16(pt.Address)]) != st.code {
		return
	}
	if !d.selfTesting {
		d.pressLocked(st, DefaultSelfTestHold, nil)
	}
}
