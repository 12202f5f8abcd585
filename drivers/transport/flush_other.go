//go:build !unix

package transport

import (
	"errors"
	"syscall"
)

// flushSocket is not implemented here: flush falls back to short reads.
func (t *rtu) flushSocket(sc syscall.Conn) error { return errors.ErrUnsupported }
