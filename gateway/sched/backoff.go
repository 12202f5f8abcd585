package sched

import (
	"errors"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbus"
)

// MaxBackoff caps the delay of a failing device. A device whose interval is
// longer keeps its interval (it never backs off).
//
// Why 30 s and not 8× the interval: R21 (device offline, GB/T 45839's 100 s
// detection budget) needs 3 failed polls spanning ≥ 30 s. With doubling
// from a 1 s interval the failed polls fall at 0, 2, 6, 14, 30 s, so R21
// still fires 30 s after the first failure; with a cap of max(30 s,
// interval) the worst case over all intervals is about 90 s (interval 30 s:
// failures at 0, 30, 60 s, first failure up to one interval after the
// device died). A cap of 8× the interval would break the budget for any
// interval above ~12 s.
const MaxBackoff = 30 * time.Second

// backoff is the delay before the next poll of a device after fails
// consecutive failed polls: interval × 2^fails, capped at
// max(MaxBackoff, interval). fails == 0 gives the interval.
func backoff(interval time.Duration, fails int) time.Duration {
	limit := max(MaxBackoff, interval)
	d := interval
	for range fails {
		d *= 2
		if d >= limit {
			return limit
		}
	}
	return d
}

// isAnswer reports whether err is a Modbus exception reply: the device
// answered, so the read is neither retried nor a reason to back off.
func isAnswer(err error) bool {
	var ex *modbus.Exception
	return errors.As(err, &ex)
}
