package sched

import (
	"errors"
	"os"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbus"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// OfflineAfter is how many consecutive failed polls take a device offline;
// the first good poll brings it back.
//
// A failed poll is one that delivered no data, retries included: a
// timeout, a broken frame, a bus that cannot be opened, and also an
// exception reply. A device that answers every poll with exception 04 is
// alive on the wire but tells the gateway nothing: for a fire-safety
// gateway that is as good as offline (DESIGN §8.3 R21 counts exceptions
// too). The scheduler still treats an exception as an answer for its own
// purposes (no retry, no backoff: it costs one short transaction, not a
// timeout, and the device's recovery is seen at once).
//
// A constant, not a config key (DESIGN §3 has none): it is
// [rules.OfflineFailures], R21's default failure count (DESIGN §8.3,
// §8.4), so the health view counts the same failures as R21 and turns
// offline no later than R21's count; R21 also waits 30 s and 3 good polls
// to clear, and only R21 raises a ticket.
const OfflineAfter = rules.OfflineFailures

// Health is one device's read counters and its online state with
// hysteresis, for diag, metrics and the status message. It is pure: the
// caller passes each attempt's outcome and latency (Note) and each poll's
// result (NotePoll). The zero value is a device not yet polled.
type Health struct {
	Requests, Timeouts, FrameErrors, Exceptions, OtherErrors uint64
	LastLatency                                              time.Duration
	total                                                    time.Duration // sum of latencies, for Mean
	failsInRow                                               int
	// Online: the last poll delivered data, or fewer than OfflineAfter
	// polls in a row have failed since one did. False before the first
	// good poll.
	Online bool
	// Known: Online has been decided, by a good poll or by OfflineAfter
	// failed ones (a device that never answered is then known offline).
	Known bool
}

// Note counts one read attempt that took latency and ended with err (an
// exception reply counts as an exception; see OfflineAfter for what it
// means for Online, which Note does not change).
func (h *Health) Note(err error, latency time.Duration) {
	h.Requests++
	h.LastLatency = latency
	h.total += latency
	var ex *modbus.Exception
	switch {
	case err == nil:
	case errors.As(err, &ex):
		h.Exceptions++
	case errors.Is(err, transport.ErrTimeout), errors.Is(err, os.ErrDeadlineExceeded):
		h.Timeouts++
	case errors.Is(err, modbus.ErrCRC), errors.Is(err, modbus.ErrFrame):
		h.FrameErrors++
	default:
		h.OtherErrors++
	}
}

// NotePoll records one poll (ok: it delivered data) and reports whether
// the device's state changed: online at the first good poll, offline at
// the OfflineAfter-th failed poll in a row. The first decision counts as
// a change.
func (h *Health) NotePoll(ok bool) (changed bool) {
	was, known := h.Online, h.Known
	if ok {
		h.failsInRow, h.Online, h.Known = 0, true, true
	} else if h.failsInRow++; h.failsInRow >= OfflineAfter {
		h.Online, h.Known = false, true
	}
	return h.Known && (!known || h.Online != was)
}

// MeanLatency is the mean latency of all attempts, 0 before the first.
func (h *Health) MeanLatency() time.Duration {
	if h.Requests == 0 {
		return 0
	}
	return h.total / time.Duration(h.Requests)
}
