package sqlite

import (
	"os"
	"syscall"
)

// datasync flushes f's data without its timestamps (fdatasync): an
// in-place overwrite then needs no filesystem journal commit.
func datasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Fdatasync(int(fd)) }); err != nil {
		return err
	}
	return serr
}
