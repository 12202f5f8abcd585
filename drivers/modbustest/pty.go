package modbustest

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Pty is a socat pty pair: bytes written to one end are read at the other,
// with no baud timing (DESIGN.md §9). Its methods are for the test
// goroutine.
type Pty struct {
	// A and B are the two ends (symlinks to /dev/pts/N): by convention A
	// is the master's serial port and B the slave's.
	A, B string

	t    testing.TB
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *syncBuffer
}

// PtyPair starts a socat pty pair and returns its two ends; it stops in
// t.Cleanup.
func PtyPair(t testing.TB) (a, b string) {
	t.Helper()
	p := StartPty(t)
	return p.A, p.B
}

// StartPty starts a socat pty pair with links A and B in a temporary
// directory, returns once socat transfers data, and stops it in t.Cleanup.
// Without socat the test is skipped (failed with CI=true).
func StartPty(t testing.TB) *Pty {
	t.Helper()
	if _, err := exec.LookPath("socat"); err != nil {
		missing(t, "modbustest: socat is not installed (apt-get install socat)")
	}
	dir := t.TempDir()
	p := &Pty{A: filepath.Join(dir, "A"), B: filepath.Join(dir, "B"), t: t}
	p.Start()
	t.Cleanup(p.Stop)
	return p
}

// Start (re)starts socat with the same link names, as an unplugged USB
// adapter comes back under the same name.
func (p *Pty) Start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		p.t.Fatal("modbustest: pty already running")
	}
	cmd := exec.Command("socat", "-d", "-d",
		"pty,raw,echo=0,link="+p.A, "pty,raw,echo=0,link="+p.B)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("modbustest: start socat: %v", err)
	}
	done, log := make(chan struct{}), &syncBuffer{}
	p.cmd, p.done, p.log = cmd, done, log
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			log.Write([]byte(sc.Text() + "\n"))
			if strings.Contains(sc.Text(), "starting data transfer loop") {
				once.Do(func() { close(ready) })
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		cmd.Wait()
		close(done)
	}()
	select {
	case <-ready:
	case <-done:
		p.t.Fatalf("modbustest: socat exited:\n%s", log)
	case <-time.After(10 * time.Second):
		p.t.Fatalf("modbustest: socat not ready within 10 s:\n%s", log)
	}
}

// Stop stops socat (SIGTERM; SIGKILL after 5 s): both ends disappear, and
// a process holding one open reads EOF or EIO.
func (p *Pty) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.cmd = nil
	os.Remove(p.A) // socat removes its links on SIGTERM; make sure
	os.Remove(p.B)
}
