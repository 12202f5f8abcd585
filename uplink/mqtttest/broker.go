// Package mqtttest starts real MQTT peers for tests, as net/http/httptest
// does for HTTP: a mosquitto broker on a free 127.0.0.1 port, a recording
// subscriber, and a validator for docs/ticket.schema.json.
package mqtttest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Broker is a mosquitto process owned by one test. It is killed in
// t.Cleanup. Stop and Start simulate an outage: the port, the config and the
// persistence directory are kept, so persistent sessions survive.
type Broker struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	opts Options
	// securePort is the listener made by Options (password and/or TLS); 0
	// without one.
	securePort int
	mu         sync.Mutex
	cmd        *exec.Cmd
	done       chan struct{}
	log        *syncBuf
}

// syncBuf is a bytes.Buffer safe for the writer goroutines of exec.
type syncBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// mosquittoPath finds the broker binary.
func mosquittoPath() string {
	if _, err := os.Stat("/usr/sbin/mosquitto"); err == nil {
		return "/usr/sbin/mosquitto"
	}
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	return ""
}

// StartMosquitto starts mosquitto on a free loopback port and waits until
// it accepts TCP connections. Without mosquitto installed the test is
// skipped, or fails when the environment variable CI is "true".
func StartMosquitto(t testing.TB) *Broker {
	t.Helper()
	return StartMosquittoWith(t, Options{})
}

// Options adds a second, secured listener to the broker started by
// [StartMosquittoWith]. The first listener ([Broker.URL]) always stays
// anonymous plain TCP, so Recorders and test publishers need no
// credentials; messages flow between the two listeners.
type Options struct {
	// Users, when not empty, makes the secure listener require one of
	// these username/password pairs (allow_anonymous false).
	Users map[string]string
	// TLS, when set, makes the secure listener speak TLS only.
	TLS *TLSOptions
	// NoDelay sets mosquitto's set_tcp_nodelay: without it, Nagle's
	// algorithm holds back the broker's second and later PUBACKs of a
	// window until the client's delayed TCP ACK (≈ 40 ms on Linux).
	NoDelay bool
	// Extra is appended to mosquitto.conf: with Users or TLS it applies
	// to the secure listener (per_listener_settings), e.g. an acl_file;
	// global options (max_queued_messages) apply everywhere.
	Extra string
}

// TLSOptions are the PEM files of a TLS listener (see [NewPKI]).
type TLSOptions struct {
	CAFile, CertFile, KeyFile string
	// RequireClientCert makes the broker demand a client certificate
	// signed by CAFile (mosquitto require_certificate true).
	RequireClientCert bool
}

// StartMosquittoWith is [StartMosquitto] with a secure listener as opts
// describe; its URL is [Broker.SecureURL].
func StartMosquittoWith(t testing.TB, opts Options) *Broker {
	t.Helper()
	bin := mosquittoPath()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("mqtttest: mosquitto not found (install the mosquitto package)")
		}
		t.Skip("mqtttest: mosquitto not found; skipping")
	}
	b := &Broker{t: t, bin: bin, dir: t.TempDir(), port: freePort(t), opts: opts, log: &syncBuf{}}
	if len(opts.Users) > 0 || opts.TLS != nil {
		b.securePort = freePort(t)
	}
	if len(opts.Users) > 0 {
		b.writePasswords()
	}
	if err := os.WriteFile(b.conf(), []byte(b.config()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.kill)
	b.Start()
	return b
}

// URL is "tcp://127.0.0.1:PORT".
func (b *Broker) URL() string { return fmt.Sprintf("tcp://127.0.0.1:%d", b.port) }

// Addr is "127.0.0.1:PORT".
func (b *Broker) Addr() string { return fmt.Sprintf("127.0.0.1:%d", b.port) }

// SecureURL is the URL of the listener made by Options:
// "ssl://127.0.0.1:PORT" with TLS, else "tcp://127.0.0.1:PORT". It fails
// the test when the broker has no such listener.
func (b *Broker) SecureURL() string {
	b.t.Helper()
	if b.securePort == 0 {
		b.t.Fatal("mqtttest: SecureURL: the broker was started without Users or TLS")
	}
	scheme := "tcp"
	if b.opts.TLS != nil {
		scheme = "ssl"
	}
	return fmt.Sprintf("%s://127.0.0.1:%d", scheme, b.securePort)
}

func (b *Broker) conf() string      { return filepath.Join(b.dir, "mosquitto.conf") }
func (b *Broker) passwords() string { return filepath.Join(b.dir, "passwd") }

func (b *Broker) config() string {
	c := fmt.Sprintf("persistence true\npersistence_location %s/\nlog_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n", b.dir)
	if b.opts.NoDelay {
		c += "set_tcp_nodelay true\n"
	}
	if os.Geteuid() == 0 {
		c += "user root\n" // else mosquitto drops to user mosquitto and cannot write its database
	}
	if b.securePort == 0 {
		return c + fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\n", b.port) + b.opts.Extra
	}
	// Security settings (allow_anonymous, password_file) apply to the
	// listener above them only with per_listener_settings.
	c += "per_listener_settings true\n"
	c += fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\n", b.port)
	c += fmt.Sprintf("listener %d 127.0.0.1\n", b.securePort)
	if len(b.opts.Users) > 0 {
		c += fmt.Sprintf("allow_anonymous false\npassword_file %s\n", b.passwords())
	} else {
		c += "allow_anonymous true\n"
	}
	if tl := b.opts.TLS; tl != nil {
		c += fmt.Sprintf("cafile %s\ncertfile %s\nkeyfile %s\n", tl.CAFile, tl.CertFile, tl.KeyFile)
		if tl.RequireClientCert {
			c += "require_certificate true\n"
		}
	}
	return c + b.opts.Extra
}

// writePasswords makes the password file with mosquitto_passwd, in
// sorted user order.
func (b *Broker) writePasswords() {
	b.t.Helper()
	tool := "/usr/bin/mosquitto_passwd"
	if _, err := os.Stat(tool); err != nil {
		p, lerr := exec.LookPath("mosquitto_passwd")
		if lerr != nil {
			b.t.Fatal("mqtttest: mosquitto_passwd not found (package mosquitto)")
		}
		tool = p
	}
	users := make([]string, 0, len(b.opts.Users))
	for u := range b.opts.Users {
		users = append(users, u)
	}
	slices.Sort(users)
	for i, u := range users {
		args := []string{"-b"}
		if i == 0 {
			args = append(args, "-c")
		}
		args = append(args, b.passwords(), u, b.opts.Users[u])
		if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
			b.t.Fatalf("mqtttest: mosquitto_passwd %s: %v\n%s", u, err, out)
		}
	}
}

// Start (re)starts the broker and waits until it accepts connections.
func (b *Broker) Start() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd != nil {
		b.t.Fatal("mqtttest: broker already running")
	}
	cmd := exec.Command(b.bin, "-c", b.conf())
	cmd.Stdout, cmd.Stderr = b.log, b.log
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("mqtttest: start mosquitto: %v", err)
	}
	done := make(chan struct{})
	go func() {
		if err := cmd.Wait(); err != nil {
			fmt.Fprintf(b.log, "mqtttest: mosquitto exited: %v\n", err)
		}
		close(done)
	}()
	b.cmd, b.done = cmd, done
	b.waitListening(done, b.Addr())
	if b.securePort != 0 {
		b.waitListening(done, fmt.Sprintf("127.0.0.1:%d", b.securePort))
	}
}

func (b *Broker) waitListening(done chan struct{}, addr string) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			if cerr := c.Close(); cerr != nil {
				b.t.Logf("mqtttest: close probe: %v", cerr)
			}
			return
		}
		select {
		case <-done:
			b.t.Fatalf("mqtttest: mosquitto exited at start:\n%s", b.log.String())
		default:
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("mqtttest: mosquitto not listening on %s after 10 s:\n%s", addr, b.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop terminates the broker gracefully (it saves its persistence file) and
// waits for it to exit.
func (b *Broker) Stop() {
	b.t.Helper()
	b.signal(syscall.SIGTERM)
}

// Restart is Stop then Start.
func (b *Broker) Restart() {
	b.t.Helper()
	b.Stop()
	b.Start()
}

// Log is what mosquitto has printed so far.
func (b *Broker) Log() string { return b.log.String() }

func (b *Broker) signal(sig syscall.Signal) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return
	}
	if err := b.cmd.Process.Signal(sig); err != nil {
		b.t.Logf("mqtttest: signal mosquitto: %v", err)
	}
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		if err := b.cmd.Process.Kill(); err != nil {
			b.t.Logf("mqtttest: kill mosquitto: %v", err)
		}
		<-b.done
	}
	b.cmd, b.done = nil, nil
}

func (b *Broker) kill() { b.signal(syscall.SIGKILL) }

// freePort asks the kernel for a free loopback port.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mqtttest: free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatalf("mqtttest: free port: %v", err)
	}
	return port
}
