package sched

import (
	"errors"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

// When the line itself was down (transport.ErrLineDown: the serial port
// could not be opened, the TCP connection to the device or the serial
// server could not be made), every device on it failed and backed off,
// though none of them was at fault. The first answer on the line shows it
// is back: the devices whose last failure was the line are then due at
// once instead of at the end of their backoff (up to MaxBackoff), so a
// detector whose alarm came up during the outage is read within a round
// of the line's return. A device that is really dead costs one timeout
// more, then backs off on its own failures.

// isLineDown reports whether err says the line, not the device, failed.
func isLineDown(err error) bool { return errors.Is(err, transport.ErrLineDown) }

// lineBack makes due now every device but answered whose last failed poll
// failed for the line.
func lineBack(st []devState, due []time.Time, answered int, now time.Time) {
	for j := range st {
		s := &st[j]
		if j == answered || s.fails == 0 || !s.lineDown || !due[j].After(now) {
			continue
		}
		s.base, due[j] = now, now
		s.lineDown = false // once per return of the line
	}
}
