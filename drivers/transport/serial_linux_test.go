//go:build linux && amd64

package transport_test

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/fenghuo-iot/fenghuo/drivers/modbustest"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

// termios reads the line settings of the tty at path.
func termios(t *testing.T, path string) syscall.Termios {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var tio syscall.Termios
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TCGETS, uintptr(unsafe.Pointer(&tio)))
	}); err != nil || errno != 0 {
		t.Fatalf("TCGETS: %v %v", err, errno)
	}
	return tio
}

func TestRTULineSettingsReachTheTTY(t *testing.T) {
	for _, c := range []struct {
		cfg   transport.Config
		speed uint32
		flags uint32 // of PARODD, CSTOPB (a pty clears PARENB whatever one sets)
	}{
		{transport.Config{Baud: 19200, Parity: "E", StopBits: 1}, syscall.B19200, 0},
		{transport.Config{Baud: 2400, Parity: "O", StopBits: 1}, syscall.B2400, syscall.PARODD},
		{transport.Config{Baud: 9600, Parity: "N", StopBits: 2}, syscall.B9600, syscall.CSTOPB},
		{transport.Config{}, syscall.B9600, 0}, // 9600 8N1
	} {
		a, _ := modbustest.PtyPair(t)
		cfg := c.cfg
		cfg.Type, cfg.Port, cfg.Timeout = "rtu", a, 50*time.Millisecond
		tr, err := transport.Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = tr.Read(context.Background(), 1, 3, 0, 1) // opens the port; nobody answers
		tio := termios(t, a)
		tr.Close()
		const cbaud = 0x100F // the speed bits of c_cflag (TCGETS leaves Ispeed 0)
		if tio.Cflag&cbaud != c.speed || tio.Cflag&syscall.CSIZE != syscall.CS8 ||
			tio.Cflag&(syscall.PARODD|syscall.CSTOPB) != c.flags || tio.Lflag&syscall.ICANON != 0 {
			t.Errorf("%+v: termios cflag %#o lflag %#o", c.cfg, tio.Cflag, tio.Lflag)
		}
	}
}
