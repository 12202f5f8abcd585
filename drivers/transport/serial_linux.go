//go:build linux && (386 || amd64 || arm || arm64 || riscv64 || loong64)

package transport

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// tcflsh is the TCFLSH ioctl on these architectures (asm-generic/ioctls.h);
// syscall does not export it.
const tcflsh = 0x540B

var baudRates = map[int]uint32{
	1200: syscall.B1200, 2400: syscall.B2400, 4800: syscall.B4800, 9600: syscall.B9600,
	19200: syscall.B19200, 38400: syscall.B38400, 57600: syscall.B57600, 115200: syscall.B115200,
	230400: syscall.B230400, 460800: syscall.B460800, 921600: syscall.B921600,
}

// serialPort is a tty opened non-blocking, so that Go's poller gives it
// read deadlines and Close interrupts a blocked read. (tarm/serial puts
// the descriptor back into blocking mode and times reads with VTIME, in
// steps of 0.1 s: too coarse for t3.5 and for ending a frame by silence.)
type serialPort struct {
	*os.File
}

// openSerial opens s.port raw (no echo, no line discipline, no flow
// control) with s's baud, data bits, parity and stop bits.
func openSerial(s lineSettings) (*serialPort, error) {
	f, err := os.OpenFile(s.port, os.O_RDWR|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if err := lockPort(f, s.port); err != nil { // one master per line: see ErrPortLocked
		f.Close()
		return nil, err
	}
	cflag := uint32(syscall.CREAD | syscall.CLOCAL | syscall.CS8)
	if s.stopBits == 2 {
		cflag |= syscall.CSTOPB
	}
	var iflag uint32
	switch s.parity {
	case 'E':
		cflag |= syscall.PARENB
		iflag |= syscall.INPCK // a byte with a parity error reads as 0: the CRC then fails
	case 'O':
		cflag |= syscall.PARENB | syscall.PARODD
		iflag |= syscall.INPCK
	}
	rate := baudRates[s.baud]
	tio := syscall.Termios{Iflag: iflag, Cflag: cflag | rate, Ispeed: rate, Ospeed: rate}
	tio.Cc[syscall.VMIN], tio.Cc[syscall.VTIME] = 1, 0
	p := &serialPort{f}
	if err := p.ioctl(syscall.TCSETS, uintptr(unsafe.Pointer(&tio))); err != nil {
		f.Close()
		return nil, fmt.Errorf("set line %d %d%c%d: %w", s.baud, s.dataBits, s.parity, s.stopBits, err)
	}
	if err := f.SetReadDeadline(timeZero); err != nil { // not pollable: no deadlines
		f.Close()
		return nil, fmt.Errorf("%s has no read deadlines: %w", s.port, err)
	}
	return p, nil
}

// FlushInput discards what the tty received and nobody read (TCIFLUSH):
// a late reply, line noise.
func (p *serialPort) FlushInput() error {
	return p.ioctl(tcflsh, syscall.TCIFLUSH)
}

// ioctl runs one ioctl on the descriptor without putting it into blocking
// mode (File.Fd would).
func (p *serialPort) ioctl(req, arg uintptr) error {
	rc, err := p.SyscallConn()
	if err != nil {
		return err
	}
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, req, arg)
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}
