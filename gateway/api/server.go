package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

// SocketMode is the permission of the socket file: the daemon's user and
// group may read the gateway's state, nobody else.
const SocketMode fs.FileMode = 0o660

// DefaultQueueLimit is how many queue items /v1/queue returns without ?limit.
const DefaultQueueLimit = 100

// ErrInUse says another process answers on the socket: most likely a
// second daemon, which would be a second master on the buses.
var ErrInUse = errors.New("another process answers on the socket")

// Handlers give the server its data. Each is called on its own request's
// goroutine, concurrently with the others; a nil handler answers 404.
type Handlers struct {
	Status  func(ctx context.Context) (Status, error)
	Devices func(ctx context.Context) (Devices, error)
	Alarms  func(ctx context.Context) (Alarms, error)
	Queue   func(ctx context.Context, limit int) (Queue, error)
	Rules   func(ctx context.Context) (Rules, error)
	// History and TestAlarm: see history.go.
	History   func(ctx context.Context, q HistoryQuery) (History, error)
	TestAlarm func(ctx context.Context, device string) (TestAlarm, error)
	// Control writes a device's command register (control.go).
	Control func(ctx context.Context, req ControlRequest) (Control, error)
	// Reload re-reads the config file (reload.go).
	Reload func(ctx context.Context) (Reload, error)
	Bus    BusHandlers // /v1/bus/*: read, scan, trace (bus.go)
	// UplinkTrace follows an uplink's frames (/v1/uplink/trace, uplinks.go).
	UplinkTrace UplinkTraceFunc
}

// Server serves Handlers on a unix socket.
type Server struct {
	path string
	ln   *capListener
	srv  *http.Server
	done chan error
}

// Listen is [ListenLimits] with the default [Limits].
func Listen(path string, h Handlers) (*Server, error) { return ListenLimits(path, h, Limits{}) }

// ListenLimits creates the socket at path with mode [SocketMode] and
// serves h on it until Close, within lim. A stale socket file (nobody
// answers) is removed first; a socket somebody answers on gives an error
// wrapping [ErrInUse]; a path that exists and is not a socket is left
// alone and is an error.
func ListenLimits(path string, h Handlers, lim Limits) (*Server, error) {
	lim = lim.withDefaults()
	if err := clearStale(path); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("local socket %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(true)
	if err := os.Chmod(path, SocketMode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("local socket %s: %w", path, err)
	}
	s := &Server{path: path, ln: newCapListener(ln, lim.MaxConns), done: make(chan error, 1)}
	// No ReadTimeout: it would cancel a long trace's context. A request
	// has no body (noBodies), so once its headers are in, the connection
	// is bounded by its handler, then by IdleTimeout.
	s.srv = &http.Server{
		Handler:           noBodies(mux(h, lim), lim.IdleTimeout),
		ReadHeaderTimeout: lim.IdleTimeout,
		IdleTimeout:       lim.IdleTimeout,
		WriteTimeout:      lim.WriteTimeout,
		MaxHeaderBytes:    16 << 10,
	}
	go func() { s.done <- s.srv.Serve(s.ln) }()
	return s, nil
}

// Conns counts the connections served and refused.
func (s *Server) Conns() ConnStats { return s.ln.stats() }

// Path is the socket's path.
func (s *Server) Path() string { return s.path }

// Close stops serving, waits up to 2 s for running requests and removes
// the socket file.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = s.srv.Close()
	}
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// Answers reports whether a process accepts connections on the unix
// socket at path (a running daemon), within one second.
func Answers(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// clearStale removes a socket file at path that nobody answers on.
func clearStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("local socket %s: %w", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("local socket %s: the path exists and is not a socket; not touching it", path)
	}
	if Answers(path) {
		return fmt.Errorf("local socket %s: %w", path, ErrInUse)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("local socket %s: removing the stale socket: %w", path, err)
	}
	return nil
}

// mux routes the endpoints to the handlers.
func mux(h Handlers, lim Limits) *http.ServeMux {
	m := http.NewServeMux()
	h.Bus.register(m)
	registerUplink(m, h.UplinkTrace)
	if h.Status != nil {
		m.HandleFunc("GET /v1/status", serve(h.Status))
	}
	if h.Devices != nil {
		m.HandleFunc("GET /v1/devices", serve(h.Devices))
	}
	if h.Alarms != nil {
		m.HandleFunc("GET /v1/alarms", serve(h.Alarms))
	}
	if h.Rules != nil {
		m.HandleFunc("GET /v1/rules", serve(h.Rules))
	}
	if h.Queue != nil {
		m.HandleFunc("GET /v1/queue", func(w http.ResponseWriter, r *http.Request) {
			limit := DefaultQueueLimit
			if s := r.URL.Query().Get("limit"); s != "" {
				n, err := strconv.Atoi(s)
				if err != nil || n < 1 {
					writeJSON(w, http.StatusBadRequest, errorBody{Error: fmt.Sprintf("limit %q: want a positive integer", s)})
					return
				}
				limit = n
			}
			serve(func(ctx context.Context) (Queue, error) { return h.Queue(ctx, limit) })(w, r)
		})
	}
	routeHistory(m, h, &rateLimit{max: lim.TestAlarmsPerMinute, window: time.Minute, now: lim.Now})
	routeControl(m, h)
	routeReload(m, h)
	return m
}

// serve adapts a handler func to HTTP: its value as JSON, or a 500 with
// the error.
func serve[T any](f func(ctx context.Context) (T, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := f(r.Context())
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, errorBody{Error: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}
