package mqtttest

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy is a TCP proxy in front of a broker that notes the time of every
// MQTT CONNECT it forwards: the connection rate the broker sees, at a
// finer grain than mosquitto's log (whole seconds). A connection is
// forwarded only while the broker accepts one; otherwise it is closed at
// once (the client sees a failed attempt, as with a refused connection)
// and counted in [Proxy.Failed]. When either side closes, the proxy
// closes the other, so a broker restart drops the clients as it would
// without the proxy. It is closed in t.Cleanup.
type Proxy struct {
	t      testing.TB
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu       sync.Mutex
	connects []time.Time
	failed   int
	conns    map[net.Conn]struct{}
	closed   bool
}

// NewProxy listens on a free loopback port and forwards to target
// ("host:port", e.g. [Broker.Addr]).
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mqtttest: proxy listen: %v", err)
	}
	p := &Proxy{t: t, ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// URL is "tcp://127.0.0.1:PORT" of the proxy.
func (p *Proxy) URL() string { return "tcp://" + p.ln.Addr().String() }

// Connects returns the arrival times of the CONNECT packets forwarded so
// far, in order.
func (p *Proxy) Connects() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.connects...)
}

// Failed counts the connections closed because the broker did not accept.
func (p *Proxy) Failed() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failed
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		if !p.track(c) {
			return
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

// track registers c, or closes it when the proxy is closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
		_ = c.Close()
	}
}

// serve forwards one client connection, noting its first packet when it
// is a CONNECT (fixed header type 1).
func (p *Proxy) serve(c net.Conn) {
	defer p.wg.Done()
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil || !p.track(up) {
		p.mu.Lock()
		p.failed++
		p.mu.Unlock()
		p.untrack(c)
		return
	}
	defer p.untrack(c, up)
	first := make([]byte, 1)
	if _, err := io.ReadFull(c, first); err != nil {
		return
	}
	if first[0]>>4 == 1 {
		p.mu.Lock()
		p.connects = append(p.connects, time.Now())
		p.mu.Unlock()
	}
	if _, err := up.Write(first); err != nil {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(c, up) // broker → client
		p.untrack(c, up)
	}()
	_, _ = io.Copy(up, c) // client → broker
	p.untrack(c, up)
	<-done
}

func (p *Proxy) close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	if err := p.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		p.t.Logf("mqtttest: proxy close: %v", err)
	}
	p.wg.Wait()
}
