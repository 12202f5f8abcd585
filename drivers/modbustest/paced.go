package modbustest

import (
	"io"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// PacedLink is a simulated half-duplex RS-485 line between a serial device
// (one end of a [Pty], whose other end the master opens) and slaves served
// on rw (one end of a net.Pipe, say, given to sim's ServeRTU). Each byte,
// in either direction, reaches the other side one character time after
// the line is free to carry it, as on a wire at the baud rate; a pty alone
// has no baud timing (DESIGN.md §9).
type PacedLink struct {
	char   time.Duration
	mu     sync.Mutex
	free   time.Time // when the line is free to start the next character
	closed chan struct{}
	wg     sync.WaitGroup
}

// StartPacedLink opens device and paces bytes between it and rw at char
// per byte (10 bits / baud for 8N1) until the test ends.
func StartPacedLink(t testing.TB, device string, rw io.ReadWriteCloser, char time.Duration) *PacedLink {
	t.Helper()
	f, err := os.OpenFile(device, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("modbustest: open %s: %v", device, err)
	}
	l := &PacedLink{char: char, closed: make(chan struct{})}
	l.wg.Add(2)
	go l.copy(rw, f)
	go l.copy(f, rw)
	t.Cleanup(func() {
		close(l.closed)
		f.Close()
		rw.Close()
		l.wg.Wait()
	})
	return l
}

// copy moves bytes from src to dst, each one delivered when its character
// has crossed the line.
func (l *PacedLink) copy(dst io.Writer, src io.Reader) {
	defer l.wg.Done()
	buf := make([]byte, 512)
	for {
		n, err := src.Read(buf)
		arrived := time.Now() // the bytes of one read were all there at once
		for _, b := range buf[:n] {
			l.mu.Lock()
			start := arrived // not time.Now(): a late wake-up must not delay the next byte
			if l.free.After(start) {
				start = l.free
			}
			due := start.Add(l.char)
			l.free = due
			l.mu.Unlock()
			time.Sleep(time.Until(due)) // the character crossing the wire
			if _, err := dst.Write([]byte{b}); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
