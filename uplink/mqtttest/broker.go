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
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *syncBuf
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
	bin := mosquittoPath()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("mqtttest: mosquitto not found (install the mosquitto package)")
		}
		t.Skip("mqtttest: mosquitto not found; skipping")
	}
	b := &Broker{t: t, bin: bin, dir: t.TempDir(), port: freePort(t), log: &syncBuf{}}
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

func (b *Broker) conf() string { return filepath.Join(b.dir, "mosquitto.conf") }

func (b *Broker) config() string {
	c := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\nlog_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n",
		b.port, b.dir)
	if os.Geteuid() == 0 {
		c += "user root\n" // else mosquitto drops to user mosquitto and cannot write its database
	}
	return c
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
	b.waitListening(done)
}

func (b *Broker) waitListening(done chan struct{}) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", b.Addr(), 200*time.Millisecond)
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
			b.t.Fatalf("mqtttest: mosquitto not listening on %s after 10 s:\n%s", b.Addr(), b.log.String())
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
