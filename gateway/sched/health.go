package sched

import (
	"errors"
	"os"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbus"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

// OfflineAfter is how many consecutive failed attempts take a device
// offline; the first good answer brings it back.
const OfflineAfter = 3

// Health is one device's read counters and its online state with
// hysteresis, for diag and metrics. It is pure: the caller passes each
// attempt's outcome and latency. The zero value is a device not yet seen.
type Health struct {
	Requests, Timeouts, FrameErrors, Exceptions, OtherErrors uint64
	LastLatency                                              time.Duration
	total                                                    time.Duration // sum of latencies, for Mean
	failsInRow                                               int
	Online                                                   bool
}

// Note counts one read attempt that took latency and ended with err, and
// reports whether Online changed. An exception reply is an answer: it
// counts as an exception and keeps the device online.
func (h *Health) Note(err error, latency time.Duration) (changed bool) {
	h.Requests++
	h.LastLatency = latency
	h.total += latency
	was := h.Online
	var ex *modbus.Exception
	switch {
	case err == nil:
		h.failsInRow, h.Online = 0, true
	case errors.As(err, &ex):
		h.Exceptions++
		h.failsInRow, h.Online = 0, true
	default:
		switch {
		case errors.Is(err, transport.ErrTimeout), errors.Is(err, os.ErrDeadlineExceeded):
			h.Timeouts++
		case errors.Is(err, modbus.ErrCRC), errors.Is(err, modbus.ErrFrame):
			h.FrameErrors++
		default:
			h.OtherErrors++
		}
		h.failsInRow++
		if h.failsInRow >= OfflineAfter {
			h.Online = false
		}
	}
	return h.Online != was
}

// MeanLatency is the mean latency of all attempts, 0 before the first.
func (h *Health) MeanLatency() time.Duration {
	if h.Requests == 0 {
		return 0
	}
	return h.total / time.Duration(h.Requests)
}
