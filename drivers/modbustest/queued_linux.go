package modbustest

import (
	"os"
	"syscall"
	"unsafe"
)

// Queued returns how many received bytes wait, unread, in the input queue
// of the tty at path (TIOCINQ on a second descriptor of the same tty): a
// test waits with it until a late reply has really reached the master's
// end of a pty pair, socat's forwarding included.
func Queued(path string) (int, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int32
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	}); err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
