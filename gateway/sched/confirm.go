package sched

import (
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// A confirmation read is one extra read of a device, as soon as the line
// is free, asked by the rule loop when a rule waits on its sample count
// alone (rules.Engine.ConfirmNow: R1 saw the fire-alarm bit once and needs
// a second read). It reads the device's fastest group only, and leaves the
// device's schedule as it was: the regular poll still comes at its time.
//
// A device that is failing (backing off) is not read sooner: its backoff
// is what keeps a dead device from costing the line more than one timeout
// per period. One confirmation read is pending per device at most.

// confirm marks device id for a confirmation read now, if it is known,
// answering and not already marked.
func (b *Bus) confirm(id string, st []devState, due []time.Time, now time.Time) {
	for i := range b.Devices {
		if b.Devices[i].ID != id {
			continue
		}
		s := &st[i]
		if s.fails > 0 || s.confirm || !due[i].After(now) {
			return // failing, already marked, or its regular poll is due anyway
		}
		s.confirm, due[i] = true, now
		return
	}
}

// confirmGroups marks the groups of a confirmation read: those read every
// turn.
func (s *devState) confirmGroups(every []int) []bool {
	for g := range s.due {
		s.due[g] = g >= len(every) || every[g] <= 1
	}
	return s.due
}

// confirmed fills p, the poll of a confirmation read, from its outcome. A
// read that got no answer counts as a failed poll (R21 and the backoff
// see it), and the next read of the device reads every group.
func (s *devState) confirmed(p *rules.Poll, samples []profile.Sample, err error) {
	s.confirm, s.attempt = false, 0
	switch {
	case err == nil:
		p.Readings = ToReadings(samples)
	case isAnswer(err):
		p.Err = err.Error()
	default:
		p.Err = err.Error()
		s.fails++
		s.turn = 0
	}
}
