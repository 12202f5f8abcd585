package sim

import (
	"io"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbus"
)

// RTUOptions shape how [Server.ServeRTU] behaves on the line.
type RTUOptions struct {
	// Turnaround is how long a device waits after a request before it
	// answers (real detectors take 2–50 ms); 0 answers at once.
	Turnaround time.Duration
}

// ServeRTU answers Modbus RTU request frames read from rw (a serial port,
// one end of a pty pair, a TCP connection for RTU over TCP) until a read
// or write fails; it returns that error (nil on EOF). The caller closes rw
// to stop it. A request is ended by its length (8 bytes for fc 1–6, 9 +
// byte count for fc 15/16); a frame with a bad CRC or an unknown function
// code is dropped with whatever else is buffered, as a slave resynchronises
// on the next silence. Unknown or silent slaves and broadcasts (slave 0)
// get no answer.
func (s *Server) ServeRTU(rw io.ReadWriter, opts RTUOptions) error {
	var buf []byte
	b := make([]byte, modbus.MaxRTUFrame)
	for {
		n, err := rw.Read(b)
		buf = append(buf, b[:n]...)
		for {
			size := modbus.RTURequestLen(buf)
			if size == 0 || len(buf) < size {
				break
			}
			req := buf[:size]
			buf = buf[size:]
			if modbus.CRC16(req) != 0 || size > modbus.MaxRTUFrame {
				buf = nil // noise: drop everything buffered
				break
			}
			if werr := s.answerRTU(rw, req, opts); werr != nil {
				return werr
			}
		}
		if len(buf) == 0 {
			buf = nil // reuse no memory of old requests
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// answerRTU answers one checked request frame.
func (s *Server) answerRTU(w io.Writer, req []byte, opts RTUOptions) error {
	d := s.Device(req[0])
	if req[0] == 0 || d == nil || d.isSilent() {
		return nil
	}
	resp := d.handle(req[1 : len(req)-2])
	if resp == nil {
		return nil
	}
	if opts.Turnaround > 0 {
		time.Sleep(opts.Turnaround) // the simulated device's own delay
	}
	_, err := w.Write(modbus.EncodeRTU(req[0], resp))
	return err
}
