// Package pgtest starts a real PostgreSQL server for tests, as mqtttest
// starts mosquitto: initdb into the test's temporary directory, postgres on
// a free 127.0.0.1 port with its unix socket in the same directory (never
// the system cluster's 5432 or /var/run/postgresql), stopped in t.Cleanup.
// As root, both run as the unprivileged "postgres" user (PostgreSQL refuses
// root). Without the binaries (Debian package postgresql) the test is
// skipped, or fails when the environment variable CI is "true".
package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Config tunes the server.
type Config struct {
	// Durable keeps fsync and synchronous_commit on (load figures); the
	// default turns them off, which only matters if the machine crashes.
	Durable bool
	// MaxConnections is postgres's max_connections (default 100).
	MaxConnections int
}

// Server is one postgres process owned by a test.
type Server struct {
	t     testing.TB
	bin   string
	dir   string
	port  int
	cred  *syscall.Credential
	cmd   *exec.Cmd
	done  chan struct{}
	log   *syncBuf
	dbSeq atomic.Int64
}

// BinDir is the directory of initdb and postgres: $FENGHUO_PG_BIN, else
// the newest /usr/lib/postgresql/*/bin with an initdb, else "".
func BinDir() string {
	if d := os.Getenv("FENGHUO_PG_BIN"); d != "" {
		return d
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	slices.SortFunc(found, func(a, b string) int { return version(a) - version(b) })
	if len(found) == 0 {
		return ""
	}
	return filepath.Dir(found[len(found)-1])
}

func version(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// Start initialises a cluster and starts postgres; it returns once the
// server accepts connections.
func Start(t testing.TB, c Config) *Server {
	t.Helper()
	bin := BinDir()
	if bin == "" {
		msg := "pgtest: PostgreSQL not installed (no /usr/lib/postgresql/*/bin/initdb): apt-get install postgresql"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	s := &Server{t: t, bin: bin, dir: dataParent(t), done: make(chan struct{}), log: &syncBuf{}}
	cred, err := credential(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	s.cred = cred
	s.initdb()
	s.start(c)
	return s
}

// dataParent is a directory for the cluster, short enough for the unix
// socket's path (107 bytes) and reachable by the postgres user.
func dataParent(t testing.TB) string {
	dir := t.TempDir()
	if len(dir) > 70 {
		d, err := os.MkdirTemp("", "pgtest")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		dir = d
	}
	return filepath.Join(dir, "pg")
}

// credential is the postgres user's when running as root (nil otherwise);
// it creates dir owned by that user and opens the way to it.
func credential(dir string) (*syscall.Credential, error) {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root needs the unprivileged user postgres (made by the Debian package): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	// The test's temporary directories are 0700 root: let the user through.
	for d := filepath.Dir(dir); d != "/" && d != os.TempDir() && d != "."; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o711); err != nil {
			return nil, fmt.Errorf("pgtest: %w", err)
		}
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func (s *Server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "TZ=UTC")
	// Pdeathsig: a test killed by its timeout leaves no postgres behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}

func (s *Server) initdb() {
	cmd := s.command("initdb", "-D", filepath.Join(s.dir, "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--locale=C.UTF-8", "--no-sync", "--no-instructions")
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
}

func (s *Server) start(c Config) {
	args := []string{"-D", filepath.Join(s.dir, "data"), "-k", s.dir, "-c", "listen_addresses=127.0.0.1"}
	if !c.Durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	if c.MaxConnections > 0 {
		args = append(args, "-c", "max_connections="+strconv.Itoa(c.MaxConnections))
	}
	for attempt := 0; ; attempt++ {
		s.port = freePort(s.t)
		s.cmd = s.command("postgres", append(args, "-p", strconv.Itoa(s.port))...)
		s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
		s.done = make(chan struct{})
		if err := s.cmd.Start(); err != nil {
			s.t.Fatalf("pgtest: start postgres: %v", err)
		}
		go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(s.cmd, s.done)
		err := s.waitReady()
		if err == nil {
			break
		}
		s.stop()
		if attempt == 2 || !strings.Contains(s.log.String(), "could not bind") {
			s.t.Fatalf("pgtest: postgres did not start: %v\n%s", err, s.log.String())
		}
	}
	s.t.Cleanup(s.stop)
}

// freePort is a TCP port free on 127.0.0.1 now (a race with another
// process taking it is retried by start).
func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitReady polls a connection until it succeeds, postgres exits, or 60 s
// pass.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgconn.Connect(ctx, s.URL("postgres"))
		cancel()
		if err == nil {
			return conn.Close(context.Background())
		}
		select {
		case <-s.done:
			return fmt.Errorf("postgres exited: %v", s.cmd.ProcessState)
		case <-time.After(50 * time.Millisecond): // poll interval
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no connection within 60 s: %w", err)
		}
	}
}

// stop shuts postgres down (fast shutdown, SIGKILL after 20 s) and waits.
func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

// Port is the server's TCP port on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// BinDir is the directory of the server's binaries (pg_dump …).
func (s *Server) BinDir() string { return s.bin }

// URL is the postgres:// URL of database db as the superuser postgres.
func (s *Server) URL(db string) string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)),
		Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// NewDatabase creates an empty database and returns its URL.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d", s.dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgconn.Connect(ctx, s.URL("postgres"))
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name).ReadAll(); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	return s.URL(name)
}

// Log is what postgres wrote so far.
func (s *Server) Log() string { return s.log.String() }

// syncBuf is a bytes.Buffer safe for exec's writer goroutines.
type syncBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// PID is the postmaster's process id; its backends are its children
// (load figures add their CPU).
func (s *Server) PID() int { return s.cmd.Process.Pid }
