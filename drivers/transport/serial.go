package transport

import (
	"fmt"
	"strings"
	"time"
)

// lineSettings are the validated serial settings of an rtu bus.
type lineSettings struct {
	port     string
	baud     int
	dataBits int
	parity   byte // 'N', 'E' or 'O'
	stopBits int
}

// serialSettings validates cfg's line settings. Zero values take the
// Modbus defaults 9600 8N1; an empty parity means None (goburrow's empty
// parity means Even, DESIGN.md §9: not here).
func serialSettings(cfg Config) (lineSettings, error) {
	s := lineSettings{port: cfg.Port, baud: cfg.Baud, dataBits: cfg.DataBits, stopBits: cfg.StopBits, parity: 'N'}
	if s.port == "" {
		return s, fmt.Errorf("transport rtu: no port")
	}
	if s.baud == 0 {
		s.baud = 9600
	}
	if s.dataBits == 0 {
		s.dataBits = 8
	}
	if s.stopBits == 0 {
		s.stopBits = 1
	}
	switch strings.ToUpper(cfg.Parity) {
	case "", "N", "NONE":
	case "E", "EVEN":
		s.parity = 'E'
	case "O", "ODD":
		s.parity = 'O'
	default:
		return s, fmt.Errorf("transport rtu %s: parity %q (want N, E or O)", s.port, cfg.Parity)
	}
	if _, ok := baudRates[s.baud]; !ok {
		return s, fmt.Errorf("transport rtu %s: baud %d is not a standard rate (1200 … 115200 and above)", s.port, s.baud)
	}
	if s.dataBits != 8 {
		return s, fmt.Errorf("transport rtu %s: data_bits %d: Modbus RTU frames need 8 (7 is for Modbus ASCII)", s.port, s.dataBits)
	}
	if s.stopBits != 1 && s.stopBits != 2 {
		return s, fmt.Errorf("transport rtu %s: stop_bits %d (want 1 or 2)", s.port, s.stopBits)
	}
	return s, nil
}

// charTime is the time one character takes on the wire.
func (s lineSettings) charTime() time.Duration {
	return CharTime(s.baud, s.dataBits, s.stopBits, s.parity != 'N')
}

// CharTime is the time one character takes on a serial line: start bit,
// data bits, parity bit (when parity is on), stop bits.
func CharTime(baud, dataBits, stopBits int, parity bool) time.Duration {
	bits := 1 + dataBits + stopBits
	if parity {
		bits++
	}
	return time.Duration(bits) * time.Second / time.Duration(baud)
}

// T35 is the inter-frame silence of the Modbus serial line spec
// (§2.5.1.1): 3.5 characters of 11 bits, and a fixed 1.75 ms above 19200
// baud.
func T35(baud int) time.Duration {
	if baud > 19200 {
		return 1750 * time.Microsecond
	}
	return time.Duration(35*11) * time.Second / time.Duration(10*baud)
}
