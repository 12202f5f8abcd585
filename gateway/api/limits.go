package api

import (
	"bytes"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// What one local client may hold of the daemon. The socket is 0660, so
// only the daemon's user and group reach it, but a script gone wrong (or a
// hostile local process in that group) must not exhaust the daemon's file
// descriptors, which the broker reconnect and the outbox need, nor flood
// the township with test tickets.
const (
	// DefaultIdleTimeout closes a connection that sends nothing for this
	// long: no request line or headers yet, or nothing after a request
	// (keep-alive).
	DefaultIdleTimeout = 10 * time.Second
	// DefaultWriteTimeout closes a connection that does not read its
	// answer (a stream — trace, scan — clears it once it starts).
	DefaultWriteTimeout = 30 * time.Second
	// DefaultMaxConns is how many connections are served at once; `fenghuo
	// diag` uses one at a time. More are answered 503 at once and closed.
	DefaultMaxConns = 16
	// DefaultTestAlarmsPerMinute is how many test tickets the daemon
	// commits in any 60 s; more are answered 429.
	DefaultTestAlarmsPerMinute = 10
)

// Limits bound the local API. The zero value takes the defaults above.
type Limits struct {
	IdleTimeout         time.Duration
	WriteTimeout        time.Duration
	MaxConns            int
	TestAlarmsPerMinute int
	// Now is the rate limit's clock; nil: time.Now (tests move it).
	Now func() time.Time
}

func (l Limits) withDefaults() Limits {
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = DefaultWriteTimeout
	}
	if l.MaxConns <= 0 {
		l.MaxConns = DefaultMaxConns
	}
	if l.TestAlarmsPerMinute <= 0 {
		l.TestAlarmsPerMinute = DefaultTestAlarmsPerMinute
	}
	if l.Now == nil {
		l.Now = time.Now
	}
	return l
}

// ConnStats counts the local API's connections.
type ConnStats struct {
	Active  int    `json:"active"`  // served now
	Refused uint64 `json:"refused"` // answered 503 because MaxConns were served
}

// capListener serves at most cap(slots) connections at once; one more is
// accepted only to be told so and closed, so a flood never queues in the
// kernel's backlog nor holds more of the daemon's descriptors than that.
type capListener struct {
	net.Listener
	slots    chan struct{}
	refusing chan struct{} // refusals in progress, at most maxRefusing
	refused  atomic.Uint64
}

// maxRefusing bounds the connections being told "too many" at once;
// beyond it a connection is closed without a word.
const maxRefusing = 4

func newCapListener(ln net.Listener, max int) *capListener {
	return &capListener{Listener: ln, slots: make(chan struct{}, max), refusing: make(chan struct{}, maxRefusing)}
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &slotConn{Conn: c, release: func() { <-l.slots }}, nil
		default:
			l.refused.Add(1)
			select {
			case l.refusing <- struct{}{}:
				go func() {
					defer func() { <-l.refusing }()
					refuse(c, cap(l.slots))
				}()
			default:
				_ = c.Close()
			}
		}
	}
}

func (l *capListener) stats() ConnStats {
	return ConnStats{Active: len(l.slots), Refused: l.refused.Load()}
}

// refuse reads the request head (at most 4 KiB, 200 ms) so the client
// sees the answer as the response to its request — an HTTP client takes
// bytes that arrive before it wrote anything as an unsolicited response,
// not as the reason — then answers 503 and closes c. It runs on its own
// goroutine (at most maxRefusing at once), never on the accept loop.
func refuse(c net.Conn, max int) {
	body := fmt.Sprintf(`{"error":"too many connections to the local API (%d served at once); try again"}`+"\n", max)
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	readHead(c, 4096)
	_, _ = fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	_ = c.Close()
}

// readHead reads from c until the end of an HTTP request head, max bytes,
// an error or the deadline.
func readHead(c net.Conn, max int) {
	buf := make([]byte, max)
	n := 0
	for n < max {
		k, err := c.Read(buf[n:])
		n += k
		if err != nil || bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
			return
		}
	}
}

// slotConn gives its slot back when closed (once).
type slotConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *slotConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// noBodies answers 413 to a request with a body (no endpoint takes one)
// before the handler runs, and bounds the reading of what was sent: the
// server would otherwise read up to 256 KiB of it, with no deadline, to
// keep the connection.
func noBodies(next http.Handler, idle time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(idle))
			w.Header().Set("Connection", "close")
			writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Error: "the local API takes no request body"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// rateLimit allows at most max events in any window.
type rateLimit struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	times  []time.Time // the last ones, oldest first; len <= max
}

// take reserves one event; it reports false and how long until the next
// is allowed when max were taken in the last window. A reservation whose
// event did not happen is given back with the returned func.
func (l *rateLimit) take() (ok bool, wait time.Duration, giveBack func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for len(l.times) > 0 && now.Sub(l.times[0]) >= l.window {
		l.times = l.times[1:]
	}
	if len(l.times) >= l.max {
		return false, l.times[0].Add(l.window).Sub(now), nil
	}
	l.times = append(l.times, now)
	return true, 0, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		for i, t := range l.times {
			if t.Equal(now) {
				l.times = append(l.times[:i], l.times[i+1:]...)
				return
			}
		}
	}
}

// finite parses s as a number in (lo, hi]; NaN and ±Inf are refused with
// the rest (every numeric check of the API goes through it or Atoi).
func finite(name, s string, lo, hi float64) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= lo || v > hi {
		return 0, Reject("%s %q: want a number in (%g, %g]", name, s, lo, hi)
	}
	return v, nil
}
