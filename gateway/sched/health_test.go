package sched

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbus"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

func TestHealthCounters(t *testing.T) {
	var h Health
	timeout := fmt.Errorf("slave 2: %w", transport.ErrTimeout)
	crc := fmt.Errorf("slave 2: %w", modbus.ErrCRC)
	exc := fmt.Errorf("slave 2: %w", &modbus.Exception{Func: 3, Code: 2})
	for i, err := range []error{nil, timeout, crc, timeout, timeout, exc, errors.New("bus closed"), nil} {
		h.Note(err, time.Duration(i+1)*10*time.Millisecond)
	}
	if h.Requests != 8 || h.Timeouts != 3 || h.FrameErrors != 1 || h.Exceptions != 1 || h.OtherErrors != 1 {
		t.Fatalf("counters %+v", h)
	}
	if h.LastLatency != 80*time.Millisecond || h.MeanLatency() != 45*time.Millisecond {
		t.Fatalf("latency last %v mean %v, want 80ms 45ms", h.LastLatency, h.MeanLatency())
	}
	if h.Online || h.Known {
		t.Fatalf("attempts alone decide nothing: %+v", h)
	}
}

// TestHealthHysteresis: offline at the OfflineAfter-th failed poll in a
// row (an exception reply is a failed poll), online at the first good one.
func TestHealthHysteresis(t *testing.T) {
	var h Health
	steps := []struct {
		ok, online, known, changed bool
	}{
		{false, false, false, false}, {false, false, false, false}, {false, false, true, true}, // never answered: offline at the 3rd
		{false, false, true, false},
		{true, true, true, true},
		{false, true, true, false}, {false, true, true, false}, // e.g. exception 04 twice: still online
		{true, true, true, false},
		{false, true, true, false}, {false, true, true, false}, {false, false, true, true},
		{true, true, true, true},
	}
	for i, s := range steps {
		if changed := h.NotePoll(s.ok); changed != s.changed || h.Online != s.online || h.Known != s.known {
			t.Fatalf("poll %d (ok %v): online %v known %v changed %v, want %v %v %v", i, s.ok, h.Online, h.Known, changed, s.online, s.known, s.changed)
		}
	}
}
