package modbustest

import (
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbus"
)

// Chunk is part of what a [FakeRTU] writes for one request: Bytes, written
// after Delay (counted from the end of the previous chunk).
type Chunk struct {
	Delay time.Duration
	Bytes []byte
}

// Handler answers one request frame (slave id … CRC, already checked)
// with chunks to write; nil means silence. It runs on the fake's
// goroutine.
type Handler func(req []byte) []Chunk

// Reply returns the one chunk answering a request at once with a correct
// RTU frame: slave, pdu, CRC.
func Reply(slave uint8, pdu ...byte) []Chunk {
	return []Chunk{{Bytes: modbus.EncodeRTU(slave, pdu)}}
}

// FakeRTU is a Go RTU slave on a serial device (one end of a [Pty]) that
// answers as its Handler says: a tool for fault tests (CRC errors,
// truncated, late or garbled replies) that no real slave produces on
// demand.
type FakeRTU struct {
	f       *os.File
	h       Handler
	mu      sync.Mutex
	reqs    []Request
	stopped chan struct{}
}

// ServeFakeRTU opens path and answers request frames with h until the test
// ends or the device goes away (the pty is stopped).
func ServeFakeRTU(t testing.TB, path string, h Handler) *FakeRTU {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("modbustest: open %s: %v", path, err)
	}
	s := &FakeRTU{f: f, h: h, stopped: make(chan struct{})}
	go s.serve()
	t.Cleanup(func() {
		f.Close()
		<-s.stopped
	})
	return s
}

// Request is a request frame a [FakeRTU] received, and when; Replied is
// when the fake finished writing its answer (zero for silence).
type Request struct {
	At, Replied time.Time
	Frame       []byte
}

// Requests returns the requests received so far.
func (s *FakeRTU) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

func (s *FakeRTU) serve() {
	defer close(s.stopped)
	var buf []byte
	b := make([]byte, 512)
	for {
		n, err := s.f.Read(b)
		buf = append(buf, b[:n]...)
		for {
			size := modbus.RTURequestLen(buf)
			if size == 0 || len(buf) < size {
				break
			}
			req := buf[:size]
			buf = append([]byte(nil), buf[size:]...)
			if modbus.CRC16(req) != 0 {
				buf = nil // garbage: wait for the next request
				break
			}
			r := Request{At: time.Now(), Frame: req}
			chunks := s.h(req)
			for _, c := range chunks {
				time.Sleep(c.Delay) // scripted pacing of the fake's reply, not a wait for an outcome
				if _, err := s.f.Write(c.Bytes); err != nil {
					return
				}
			}
			if len(chunks) > 0 {
				r.Replied = time.Now()
			}
			s.mu.Lock()
			s.reqs = append(s.reqs, r)
			s.mu.Unlock()
		}
		if err != nil {
			return // closed by the test, or EIO once the pty went away
		}
	}
}
