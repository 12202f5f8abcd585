//go:build !(linux && (386 || amd64 || arm || arm64 || riscv64 || loong64))

package transport

import (
	"fmt"
	"os"
	"runtime"
)

var baudRates = map[int]uint32{1200: 0, 2400: 0, 4800: 0, 9600: 0, 19200: 0, 38400: 0, 57600: 0, 115200: 0}

type serialPort struct{ *os.File }

func (p *serialPort) FlushInput() error { return nil }

// openSerial: serial ports are implemented for Linux only so far.
func openSerial(s lineSettings) (*serialPort, error) {
	return nil, fmt.Errorf("serial ports are not supported on %s/%s yet", runtime.GOOS, runtime.GOARCH)
}
