// Package modbustest starts independent Modbus slaves for tests:
// python3-pymodbus (Debian's 3.0.0) running pyslave.py over Modbus TCP
// ([Start]), RTU framing over TCP ([StartRTUOverTCP]) or RTU on a socat
// pty pair ([StartRTU]); socat pty pairs ([PtyPair], [StartPty]); and a
// scriptable Go fake RTU slave for fault tests ([ServeFakeRTU]). Use them
// to check fenghuo's masters against peers that are not fenghuo's own
// simulator.
//
// When /usr/bin/python3 cannot import pymodbus, or socat is missing, the
// test is skipped, or failed when the environment variable CI is "true".
package modbustest

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

//go:embed pyslave.py
var script []byte

// Python is the interpreter that sees Debian's python3-pymodbus (the
// python3 first on PATH may be another one, DESIGN.md §9).
const Python = "/usr/bin/python3"

const startTimeout = 20 * time.Second

// Slave is a running pymodbus slave. Its methods are safe for concurrent
// use.
type Slave struct {
	// Addr is the slave's "127.0.0.1:port".
	Addr string

	t      testing.TB
	mu     sync.Mutex // one control command at a time
	stdin  io.WriteCloser
	lines  chan string // stdout lines of the script
	stderr *syncBuffer
}

// Start runs a pymodbus slave serving, for each slave id, the given
// holding registers (every other holding register 0..65535 reads 0; an
// unknown slave id gets no answer). It returns once the port accepts
// connections, and stops the process in t.Cleanup.
func Start(t testing.TB, slaves map[uint8]map[uint16]uint16) *Slave {
	t.Helper()
	return start(t, slaves, "tcp")
}

// StartRTUOverTCP is [Start] with RTU frames (slave, PDU, CRC; no MBAP
// header) on the TCP connection, as a serial device server forwards them.
func StartRTUOverTCP(t testing.TB, slaves map[uint8]map[uint16]uint16) *Slave {
	t.Helper()
	return start(t, slaves, "rtu-over-tcp")
}

// RTUSlave is a pymodbus RTU slave on one end of a socat pty pair.
type RTUSlave struct {
	*Slave
	// Port is the master's end of the pty pair: open it as the serial port.
	Port string
	// Pty is the pair; its B end is pymodbus's.
	Pty *Pty
}

// StartRTU runs a pymodbus RTU slave (9600 8N1, ModbusRtuFramer) with the
// given holding registers on one end of a new pty pair and returns the
// other end for the master. An unknown slave id gets no answer.
func StartRTU(t testing.TB, slaves map[uint8]map[uint16]uint16) *RTUSlave {
	t.Helper()
	requirePymodbus(t, "serial_asyncio")
	p := StartPty(t)
	s := start(t, slaves, "rtu:"+p.B)
	return &RTUSlave{Slave: s, Port: p.A, Pty: p}
}

// start runs pyslave.py in mode (tcp, rtu-over-tcp, rtu:DEVICE).
func start(t testing.TB, slaves map[uint8]map[uint16]uint16, mode string) *Slave {
	t.Helper()
	requirePymodbus(t)
	if slaves == nil {
		slaves = map[uint8]map[uint16]uint16{}
	}
	arg, err := json.Marshal(slaves)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pyslave.py")
	if err := os.WriteFile(path, script, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Python, path, string(arg), mode)
	s := &Slave{t: t, lines: make(chan string, 16), stderr: &syncBuffer{}}
	cmd.Stderr = s.stderr
	if s.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("modbustest: start %s: %v", Python, err)
	}
	go s.readLines(stdout)
	t.Cleanup(func() { s.stop(cmd) })
	port := s.waitReady()
	if strings.HasPrefix(mode, "rtu:") {
		return s // the serial port is open once READY is printed
	}
	s.Addr = "127.0.0.1:" + port
	s.waitDial()
	return s
}

// requirePymodbus skips (or, with CI=true, fails) t when pymodbus (and,
// for RTU on a serial port, serial_asyncio) is missing.
func requirePymodbus(t testing.TB, modules ...string) {
	t.Helper()
	imports := strings.Join(append([]string{"pymodbus"}, modules...), ", ")
	out, err := exec.Command(Python, "-c", "import "+imports).CombinedOutput()
	if err == nil {
		return
	}
	missing(t, fmt.Sprintf("modbustest: %s cannot import %s (apt-get install python3-pymodbus python3-serial-asyncio): %v %s", Python, imports, err, out))
}

// missing skips t, or fails it when the environment variable CI is "true".
func missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func (s *Slave) readLines(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		s.lines <- sc.Text()
	}
	close(s.lines)
}

// next returns the script's next stdout line, or fails the test.
func (s *Slave) next(what string, timeout time.Duration) string {
	s.t.Helper()
	select {
	case l, ok := <-s.lines:
		if !ok {
			s.t.Fatalf("modbustest: pymodbus exited while waiting for %s; stderr:\n%s", what, s.stderr)
		}
		return l
	case <-time.After(timeout):
		s.t.Fatalf("modbustest: no %s from pymodbus within %v; stderr:\n%s", what, timeout, s.stderr)
	}
	return ""
}

func (s *Slave) waitReady() string {
	s.t.Helper()
	l := s.next("READY line", startTimeout)
	port, ok := strings.CutPrefix(l, "READY ")
	if _, err := strconv.Atoi(port); !ok || err != nil {
		s.t.Fatalf("modbustest: unexpected first line %q; stderr:\n%s", l, s.stderr)
	}
	return port
}

// waitDial polls until the port accepts a connection.
func (s *Slave) waitDial() {
	s.t.Helper()
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("modbustest: %s does not accept connections: %v", s.Addr, err)
		}
		time.Sleep(20 * time.Millisecond) // poll interval, not a wait for an outcome
	}
}

// SetHolding sets one holding register of slave while the slave runs; it
// returns once pymodbus has applied it.
func (s *Slave) SetHolding(slave uint8, addr, value uint16) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := fmt.Fprintf(s.stdin, "set %d %d %d\n", slave, addr, value); err != nil {
		s.t.Fatalf("modbustest: SetHolding: %v; stderr:\n%s", err, s.stderr)
	}
	if l := s.next("reply to set", 5*time.Second); l != "OK" {
		s.t.Fatalf("modbustest: SetHolding(%d, %d, %d): %s", slave, addr, value, l)
	}
}

// stop closes stdin (the script exits on EOF) and kills it if it lingers.
func (s *Slave) stop(cmd *exec.Cmd) {
	s.stdin.Close()
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// syncBuffer collects stderr for error messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
