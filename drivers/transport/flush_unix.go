//go:build unix

package transport

import (
	"errors"
	"syscall"
)

// flushSocket reads a non-blocking socket until it would block.
func (t *rtu) flushSocket(sc syscall.Conn) error {
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	for {
		var n int
		var rerr error
		if err := rc.Read(func(fd uintptr) bool {
			n, rerr = syscall.Read(int(fd), t.buf[:])
			return true // one attempt, never wait
		}); err != nil {
			return err
		}
		switch {
		case rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK:
			return nil
		case rerr != nil:
			return rerr
		case n == 0:
			return errors.New("connection closed by the peer")
		}
		t.traceFrame(Discarded, t.buf[:n], nil)
	}
}
