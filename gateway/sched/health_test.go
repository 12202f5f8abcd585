package sched

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbus"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

func TestHealthHysteresisAndCounters(t *testing.T) {
	var h Health
	timeout := fmt.Errorf("slave 2: %w", transport.ErrTimeout)
	crc := fmt.Errorf("slave 2: %w", modbus.ErrCRC)
	exc := fmt.Errorf("slave 2: %w", &modbus.Exception{Func: 3, Code: 2})
	steps := []struct {
		err     error
		online  bool
		changed bool
	}{
		{nil, true, true}, {timeout, true, false}, {crc, true, false}, {timeout, false, true},
		{timeout, false, false}, {exc, true, true}, {errors.New("bus closed"), true, false}, {nil, true, false},
	}
	for i, s := range steps {
		if changed := h.Note(s.err, time.Duration(i+1)*10*time.Millisecond); changed != s.changed || h.Online != s.online {
			t.Fatalf("step %d (%v): online %v changed %v, want %v %v", i, s.err, h.Online, changed, s.online, s.changed)
		}
	}
	if h.Requests != 8 || h.Timeouts != 3 || h.FrameErrors != 1 || h.Exceptions != 1 || h.OtherErrors != 1 {
		t.Fatalf("counters %+v", h)
	}
	if h.LastLatency != 80*time.Millisecond || h.MeanLatency() != 45*time.Millisecond {
		t.Fatalf("latency last %v mean %v, want 80ms 45ms", h.LastLatency, h.MeanLatency())
	}
}
