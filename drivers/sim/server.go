// Package sim is an in-process Modbus TCP slave that serves device
// profiles: the simulator behind `fenghuo sim`, `fenghuo demo` and the
// tests. [Server.ServeRTU] serves the same devices as RTU on a serial
// port, a pty or any stream. One server listens on one or more listeners and answers for many
// slave ids; each slave is a [Device] serving a profile's register map,
// with values set in engineering units by point name.
//
// Behaviour a master sees:
//   - FC 1/2/3/4 reads inside the span of a table's points (holes read 0);
//     outside it, exception 02;
//   - FC 6/16 writes to points declared access rw or w; elsewhere 02;
//   - other function codes: exception 01;
//   - an unknown slave id, or a device set silent: no answer at all.
//
// A Server and its Devices are safe for concurrent use.
package sim

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
)

// Server is a Modbus TCP slave for many simulated devices.
type Server struct {
	mu        sync.Mutex
	devices   map[uint8]*Device
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	closed    bool
	wg        sync.WaitGroup
	addr      string
}

// NewServer returns a server with no devices and no listener; add devices
// with AddDevice and start it with ListenTCP or Serve.
func NewServer() *Server {
	return &Server{
		devices:   map[uint8]*Device{},
		listeners: map[net.Listener]struct{}{},
		conns:     map[net.Conn]struct{}{},
	}
}

// ListenTCP returns a new server listening on address ("127.0.0.1:0" picks
// a free port; Addr tells which) and serving in the background until Close.
func ListenTCP(address string) (*Server, error) {
	s := NewServer()
	if _, err := s.ListenTCP(address); err != nil {
		return nil, err
	}
	return s, nil
}

// ListenTCP listens on address and serves it in the background until
// Close; it returns the bound address ("127.0.0.1:0" picks a free port).
// A server may listen on several addresses.
func (s *Server) ListenTCP(address string) (string, error) {
	l, err := net.Listen("tcp", address)
	if err != nil {
		return "", err
	}
	bound := l.Addr().String()
	s.mu.Lock()
	if s.addr == "" {
		s.addr = bound
	}
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.Serve(l) // returns nil once Close closes l
	}()
	return bound, nil
}

// Addr returns the first address ListenTCP bound, or "".
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// AddDevice makes slave answer with p's register map, filled with the
// points' default values. It replaces a device already at slave.
func (s *Server) AddDevice(slave uint8, p *profile.Profile) *Device {
	d := newDevice(p)
	s.mu.Lock()
	s.devices[slave] = d
	s.mu.Unlock()
	return d
}

// Device returns the device at slave, or nil.
func (s *Server) Device(slave uint8) *Device {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.devices[slave]
}

// Serve accepts connections on l until l is closed or the server is
// closed; each connection is served on its own goroutine.
func (s *Server) Serve(l net.Listener) error {
	return s.serve(l, s.serveConn)
}

// ServeRTUOverTCP is [Server.Serve] for RTU frames on each connection
// (slave, PDU, CRC; no MBAP header), as a serial device server forwards
// them.
func (s *Server) ServeRTUOverTCP(l net.Listener) error {
	return s.serve(l, func(c net.Conn) { _ = s.ServeRTU(c, RTUOptions{}) }) // ends when c fails or closes
}

// ListenRTUOverTCP listens on address and serves RTU over TCP in the
// background until Close; it returns the bound address.
func (s *Server) ListenRTUOverTCP(address string) (string, error) {
	l, err := net.Listen("tcp", address)
	if err != nil {
		return "", err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.ServeRTUOverTCP(l) // returns nil once Close closes l
	}()
	return l.Addr().String(), nil
}

func (s *Server) serve(l net.Listener, conn func(net.Conn)) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return l.Close()
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	for {
		c, err := l.Accept()
		if err != nil {
			if s.isClosed() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if !s.track(c) {
			c.Close()
			return nil
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			conn(c)
		}()
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

// serveConn answers MBAP frames on c until it fails or closes. A request
// to an unknown or silent slave gets no answer.
func (s *Server) serveConn(c net.Conn) {
	var hdr [7]byte
	for {
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(hdr[4:]))
		if n < 2 || n > 254 {
			return // not Modbus TCP: drop the connection
		}
		pdu := make([]byte, n-1)
		if _, err := io.ReadFull(c, pdu); err != nil {
			return
		}
		d := s.Device(hdr[6])
		if d == nil || d.isSilent() {
			continue
		}
		resp := d.handle(pdu)
		if resp == nil {
			continue
		}
		out := make([]byte, 7+len(resp))
		copy(out, hdr[:4])
		binary.BigEndian.PutUint16(out[4:], uint16(1+len(resp)))
		out[6] = hdr[6]
		copy(out[7:], resp)
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// Close stops the listeners, closes every connection and waits for the
// server's goroutines to end.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}
