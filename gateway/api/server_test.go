package api

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func sockPath(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "fenghuo.sock")
}

var at = time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)

func handlers() Handlers {
	return Handlers{
		Status: func(context.Context) (Status, error) {
			return Status{Now: at, Version: "v1", GatewayID: "gw-1", Devices: DevicesStatus{Online: 1, Total: 2}}, nil
		},
		Devices: func(context.Context) (Devices, error) {
			return Devices{Now: at, Devices: []Device{{ID: "smoke-1", Name: "一楼烟感", Values: []Value{{Point: "temperature", Value: 22.5, Unit: "°C"}}}}}, nil
		},
		Queue: func(_ context.Context, limit int) (Queue, error) {
			return Queue{Now: at, Depth: limit}, nil
		},
		Rules: func(context.Context) (Rules, error) { return Rules{}, errors.New("engine busy") },
	}
}

func start(t *testing.T, path string) *Server {
	t.Helper()
	s, err := Listen(path, handlers())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRoundTripAndSocketMode(t *testing.T) {
	path := sockPath(t)
	start(t, path)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want a socket with 0660", fi.Mode())
	}
	c := NewClient(path)
	ctx := t.Context()
	st, err := c.Status(ctx)
	if err != nil || st.GatewayID != "gw-1" || st.Devices.Total != 2 || !st.Now.Equal(at) {
		t.Errorf("Status = %+v, %v", st, err)
	}
	devs, err := c.Devices(ctx)
	if err != nil || len(devs.Devices) != 1 || devs.Devices[0].Name != "一楼烟感" || devs.Devices[0].Values[0].Unit != "°C" {
		t.Errorf("Devices = %+v, %v", devs, err)
	}
	if q, err := c.Queue(ctx, 0); err != nil || q.Depth != DefaultQueueLimit {
		t.Errorf("Queue(0) = %+v, %v; want the default limit passed to the handler", q, err)
	}
	if q, err := c.Queue(ctx, 7); err != nil || q.Depth != 7 {
		t.Errorf("Queue(7) = %+v, %v", q, err)
	}
	if _, err := c.Rules(ctx); err == nil || !strings.Contains(err.Error(), "engine busy") {
		t.Errorf("Rules error = %v, want the handler's error", err)
	}
	if _, err := c.Alarms(ctx); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("Alarms without a handler: %v, want a 404", err)
	}
}

func TestCloseRemovesSocket(t *testing.T) {
	path := sockPath(t)
	s, err := Listen(path, handlers())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket file after Close: %v, want it removed", err)
	}
	if _, err := NewClient(path).Status(t.Context()); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("client after Close: %v, want ErrNoDaemon", err)
	}
}

// A socket file left by a daemon that died is removed; the client sees
// "no daemon" on it rather than a raw connection error.
func TestStaleSocketIsReplaced(t *testing.T) {
	path := sockPath(t)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close() // the file stays, nobody listens: a crashed daemon
	if _, err := NewClient(path).Status(t.Context()); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("client on a stale socket: %v, want ErrNoDaemon", err)
	}
	start(t, path)
	if _, err := NewClient(path).Status(t.Context()); err != nil {
		t.Errorf("after replacing the stale socket: %v", err)
	}
}

func TestRefusesWhenAnotherAnswers(t *testing.T) {
	path := sockPath(t)
	start(t, path)
	_, err := Listen(path, handlers())
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second Listen: %v, want ErrInUse", err)
	}
	if _, err := NewClient(path).Status(t.Context()); err != nil {
		t.Errorf("the first server stopped answering after the refused second: %v", err)
	}
}

func TestRefusesNonSocketPath(t *testing.T) {
	path := sockPath(t)
	if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(path, handlers()); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("Listen on a regular file: %v, want a refusal", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep me" {
		t.Error("Listen touched the regular file")
	}
}

func TestClientNoSocketFile(t *testing.T) {
	_, err := NewClient(filepath.Join(t.TempDir(), "none.sock")).Status(t.Context())
	if !errors.Is(err, ErrNoDaemon) {
		t.Errorf("missing socket: %v, want ErrNoDaemon", err)
	}
}

func TestClientPermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root opens any socket")
	}
	path := sockPath(t)
	start(t, path)
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	// Same user: chmod the directory instead so that connect is refused.
	dir := filepath.Dir(path)
	if err := os.Chmod(dir, 0o000); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	if _, err := NewClient(path).Status(t.Context()); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("unreadable socket: %v, want fs.ErrPermission", err)
	}
}

func TestBadQueueLimit(t *testing.T) {
	path := sockPath(t)
	start(t, path)
	c := NewClient(path)
	var q Queue
	err := c.get(t.Context(), "/v1/queue?limit=-3", &q)
	if err == nil || !strings.Contains(err.Error(), "positive integer") {
		t.Errorf("limit=-3: %v, want a 400 that says why", err)
	}
}
