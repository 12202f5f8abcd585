package sched

import (
	"context"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// ReadFunc reads one device once over the bus's transport: the read
// groups g with due[g] true (len(due) is len(Device.Every), or 1). Only
// the bus's owner goroutine calls it. Run is done with the samples (it
// copies them into the poll's readings) before it calls any ReadFunc of
// the bus again, so the ReadFuncs of a bus may decode into one buffer.
type ReadFunc func(ctx context.Context, due []bool) ([]profile.Sample, error)

// Device is one device to poll on a bus.
type Device struct {
	ID string
	// Interval is the device's turn: how often its fastest group is read
	// (> 0).
	Interval time.Duration
	// Every says, per read group (a plan's Groups, fastest first), every
	// how many turns the group is read: 1 each turn, 5 every fifth… nil
	// means one group read every turn. Slower groups are read on the
	// turns of the faster ones, so a poll that carries a slow group
	// carries the fast ones too.
	Every []int
	Read  ReadFunc
}

// Bus is one line and its devices.
type Bus struct {
	Name    string
	Retries int // extra attempts after a failed read, within one poll
	Devices []Device
	// Jobs, when not nil, is the diagnostic CLI's work for this line (see
	// Job, job.go): run by the owner between polls, with Transport.
	Jobs      <-chan Job
	Transport transport.Transport
	// Confirm, when not nil, takes the ids of devices to read again as
	// soon as the line is free (a confirmation read, confirm.go).
	Confirm <-chan string
	// Meter, when not nil, measures the line's busy share and each
	// device's achieved interval (meter.go).
	Meter *Meter
}

// Run polls bus until ctx is done, sending one rules.Poll per device poll
// (its retries included) to out. Devices are polled at their own intervals,
// earliest due first; a device that falls behind is polled as soon as the
// line is free, without a burst of catch-up polls. Each poll of a device
// reads the groups due on that turn (see Device.Every), so a Poll carries
// the points of those groups only.
//
// The owner makes one read attempt per turn, so a dead device holds the line
// for at most one request timeout before the next due device goes: a retry
// (only of a timeout or broken frame, never of an exception reply, which is
// an answer) is queued as due now, behind devices already overdue. A device
// whose poll failed backs off (see backoff) and gets no retries until it
// answers again; the backoff is the device's, so it holds for all its
// groups, and the first poll after a failure reads every group. Jobs from
// bus.Jobs run between polls; a poll waits for at most one job (jobsNow).
// Run returns ctx.Err().
func Run(ctx context.Context, bus Bus, out chan<- rules.Poll) error {
	if len(bus.Devices) == 0 {
		return bus.serveJobs(ctx)
	}
	st := make([]devState, len(bus.Devices))
	due := make([]time.Time, len(bus.Devices))
	start := time.Now()
	bus.Meter.begin(start)
	for i := range due {
		due[i], st[i].base = start, start
		st[i].due = make([]bool, max(1, len(bus.Devices[i].Every)))
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	var lastJob time.Time // when the last diag job ended
	for {
		i := earliest(due)
		timer.Reset(time.Until(due[i]))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case j := <-bus.jobsNow(due[i], lastJob):
			bus.runJob(ctx, j)
			lastJob = time.Now()
			continue
		case id := <-bus.Confirm:
			bus.confirm(id, st, due, time.Now())
			continue
		case <-timer.C:
		}
		d := bus.Devices[i]
		s := &st[i]
		groups := s.groupsDue(d.Every)
		s.shed(d.Every, time.Since(due[i]) > lateAfter(d.Interval)) // shed.go
		confirming := s.confirm
		if confirming {
			groups = s.confirmGroups(d.Every)
		}
		began := time.Now()
		samples, err := d.Read(ctx, groups)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		now := time.Now()
		bus.Meter.noteBusy(now.Sub(began), now)
		if err != nil && !isAnswer(err) && !isLineDown(err) && s.fails == 0 && s.attempt < bus.Retries {
			s.attempt++
			due[i] = now
			continue
		}
		p := rules.Poll{Device: d.ID, At: now, OK: err == nil}
		if confirming {
			s.confirmed(&p, samples, err)
			due[i] = s.base // the regular poll keeps its time and its turn
			select {
			case out <- p:
			case <-ctx.Done():
				return ctx.Err()
			}
			continue
		}
		switch {
		case err == nil:
			p.Readings = ToReadings(samples)
			s.fails = 0
			s.turn++
		case isAnswer(err):
			p.Err = err.Error()
			s.fails = 0
			s.turn++ // an answer: the next turn's groups, as if it had data
		default:
			p.Err = err.Error()
			s.fails++
			s.turn = 0 // no answer: read every group when it is back
		}
		if s.lineDown = isLineDown(err); err == nil || isAnswer(err) {
			lineBack(st, due, i, now) // the line answers: see lineback.go
		}
		s.attempt = 0
		bus.Meter.notePoll(d.ID, now)
		s.base = next(s.base, backoff(d.Interval, s.fails), now)
		due[i] = s.base
		select {
		case out <- p:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// devState is the owner's bookkeeping of one device.
type devState struct {
	base     time.Time // when the current poll was due
	attempt  int       // retries made in the current poll
	fails    int       // consecutive failed polls (exception replies excluded)
	turn     int       // polls since the last unanswered one: picks the groups
	due      []bool    // the groups read this turn (reused)
	confirm  bool      // a confirmation read is due (confirm.go)
	lineDown bool      // the last failed poll failed for the line (lineback.go)
	owed     []int     // per group: late turns it was skipped on (shed.go)
}

// groupsDue marks the groups read on this turn: group g when turn is a
// multiple of every[g]; turn 0 reads them all.
func (s *devState) groupsDue(every []int) []bool {
	for g := range s.due {
		n := 1
		if g < len(every) {
			n = max(1, every[g])
		}
		s.due[g] = s.turn%n == 0 || s.owes(g)
	}
	return s.due
}

// earliest returns the index of the smallest time.
func earliest(due []time.Time) int {
	best := 0
	for i := range due {
		if due[i].Before(due[best]) {
			best = i
		}
	}
	return best
}

// next is the next due time after a poll that was due at prev: one interval
// later, or now if the line is so busy that this is already past.
func next(prev time.Time, interval time.Duration, now time.Time) time.Time {
	n := prev.Add(interval)
	if n.Before(now) {
		return now
	}
	return n
}
