package sim

import (
	"fmt"
	"sync"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
)

// Device is one simulated slave serving a profile's register map. Its
// methods are safe for concurrent use with the server answering requests.
type Device struct {
	mu     sync.Mutex
	prof   *profile.Profile
	tables [4]map[uint16]uint16 // fc-1: coils, discrete inputs, holding, input (bits as 0/1)
	span   [4][2]int            // fc-1: [lowest, highest+1) address of the table's points
	wr     [4]map[uint16]bool   // fc-1: addresses a master may write (access rw or w)
	silent bool
	derive func(d *Device) // keeps derived registers in step; nil for most profiles
	// selfTesting: a self-test press is being played (selftest.go)
	selfTesting bool
}

// derivations couple registers of a profile, as the real device does.
var derivations = map[string]func(d *Device){
	// One simulated detector serves both smoke profiles (DESIGN.md §8.1):
	// register 16 (0x0010, smoke-485-basic's alarm) reads 1 while status
	// bit1 (fire alarm) is set.
	"smoke-detector": func(d *Device) {
		st, al := d.prof.Point("status"), d.prof.Point("alarm")
		if st == nil || al == nil {
			return
		}
		d.tables[2][uint16(al.Address)] = d.tables[2][uint16(st.Address)] >> 1 & 1
	},
}

// newDevice builds the register tables of p, filled with the points'
// default values.
func newDevice(p *profile.Profile) *Device {
	d := &Device{prof: p, derive: derivations[p.Name]}
	for i := range d.tables {
		d.tables[i] = map[uint16]uint16{}
		d.wr[i] = map[uint16]bool{}
		d.span[i] = [2]int{-1, -1}
	}
	for i := range p.Points {
		pt := &p.Points[i]
		t, lo, hi := pt.FC-1, pt.Address, pt.Address+pt.Width()
		if d.span[t][0] < 0 || lo < d.span[t][0] {
			d.span[t][0] = lo
		}
		d.span[t][1] = max(d.span[t][1], hi)
		for a := lo; a < hi; a++ {
			d.wr[t][uint16(a)] = pt.Writable()
		}
		if pt.Default != nil {
			if words, err := profile.EncodeValue(pt, *pt.Default); err == nil {
				d.store(pt, words)
			}
		}
	}
	d.afterChange()
	return d
}

// WriteAll lets a master write every mapped holding register, not only
// the profile's rw and w points: a bench on which a second tool (mbpoll,
// a test script) plays the device — raises its alarm bit, moves a value.
// A real device refuses such writes; the simulator does by default.
func (d *Device) WriteAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for a := range d.wr[2] {
		d.wr[2][a] = true
	}
}

// Profile returns the profile the device serves.
func (d *Device) Profile() *profile.Profile { return d.prof }

// store writes words at pt's address; the caller holds d.mu (or owns d).
func (d *Device) store(pt *profile.Point, words []uint16) {
	for i, w := range words {
		d.tables[pt.FC-1][uint16(pt.Address+i)] = w
	}
}

func (d *Device) afterChange() {
	if d.derive != nil {
		d.derive(d)
	}
}

func (d *Device) point(name string) (*profile.Point, error) {
	pt := d.prof.Point(name)
	if pt == nil {
		return nil, fmt.Errorf("sim %s: no point %q", d.prof.Name, name)
	}
	return pt, nil
}

// Set sets a point to the engineering value v (raw = (v − offset) / scale,
// in the point's type and byte order).
func (d *Device) Set(point string, v float64) error {
	pt, err := d.point(point)
	if err != nil {
		return err
	}
	words, err := profile.EncodeValue(pt, v)
	if err != nil {
		return fmt.Errorf("sim %s: %w", d.prof.Name, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.store(pt, words)
	d.afterChange()
	return nil
}

// SetBit sets or clears bit (0 = least significant) of a u16 point.
func (d *Device) SetBit(point string, bit int, on bool) error {
	pt, err := d.point(point)
	if err != nil {
		return err
	}
	if pt.Type != "u16" || bit < 0 || bit > 15 {
		return fmt.Errorf("sim %s: point %q: bit %d of a %s", d.prof.Name, point, bit, pt.Type)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t, a := d.tables[pt.FC-1], uint16(pt.Address)
	if on {
		t[a] |= 1 << bit
	} else {
		t[a] &^= 1 << bit
	}
	d.afterChange()
	return nil
}

// Get returns a point's current engineering value, including what a
// master wrote to it.
func (d *Device) Get(point string) (float64, error) {
	pt, err := d.point(point)
	if err != nil {
		return 0, err
	}
	d.mu.Lock()
	words := make([]uint16, pt.Width())
	for i := range words {
		words[i] = d.tables[pt.FC-1][uint16(pt.Address+i)]
	}
	d.mu.Unlock()
	return profile.DecodeValue(pt, words)
}

// SetRaw sets registers (or bits, 0/1) of table fc from addr, bypassing
// the profile: for tests of odd values. fc outside 1..4 is ignored.
func (d *Device) SetRaw(fc uint8, addr uint16, words ...uint16) {
	if fc < 1 || fc > 4 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, w := range words {
		d.tables[fc-1][addr+uint16(i)] = w
	}
	d.afterChange()
}

// SetSilent makes the device stop answering (true): its requests time out
// at the master, as a dead or unplugged slave's do. false resumes.
func (d *Device) SetSilent(silent bool) {
	d.mu.Lock()
	d.silent = silent
	d.mu.Unlock()
}

func (d *Device) isSilent() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.silent
}
