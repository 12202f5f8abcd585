package cli

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

// listen opens a TCP listener on a free loopback port.
func listen(t *testing.T) *net.TCPListener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.(*net.TCPListener)
}

// freePort returns a loopback address nothing listens on (just now).
func freePort(t *testing.T) string {
	t.Helper()
	l := listen(t)
	addr := l.Addr().String()
	l.Close()
	return addr
}

// assertNoConnection fails if anything connected to l. A connect completes
// in the kernel's backlog without Accept, so after the command returned a
// short deadline is enough.
func assertNoConnection(t *testing.T, l *net.TCPListener) {
	t.Helper()
	if err := l.SetDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	c, err := l.Accept()
	if err == nil {
		c.Close()
		t.Fatalf("something connected to the bus at %s from %s", l.Addr(), c.RemoteAddr())
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal(err)
	}
}

// run with a bad config exits 1 with the problems, before it opens the
// bus (a listener standing in for the Modbus TCP device) or anything else.
func TestRunBadConfigStartsNothing(t *testing.T) {
	cleanEnv(t)
	bus := listen(t)
	cfg := strings.Replace(goodConfig(bus.Addr().String()), "slave: 7", "slave: 300", 1)
	sock := t.TempDir() + "/fenghuo.sock"
	cfg += "buffer: {path: " + t.TempDir() + "/outbox.db}\nlocal: {socket: " + sock + ", metrics: \"\"}\n"
	path := writeFile(t, "bad.yaml", cfg)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var stdout, stderr syncBuffer
	code := fenghuoCtx(ctx, []string{"run", "--config", path}, &stdout, &stderr)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	want := path + ": devices[1].slave: 300 is out of range 1..247\n" +
		"fenghuo: " + path + ": 1 problem; the gateway was not started\n"
	if stderr.String() != want || stdout.String() != "" {
		t.Errorf("stdout %q, stderr:\n%s\nwant stderr:\n%s", stdout.String(), stderr.String(), want)
	}
	if strings.Contains(stderr.String(), secret) {
		t.Error("the password appears on stderr")
	}
	assertNoConnection(t, bus)
	if _, err := os.Stat(sock); err == nil {
		t.Errorf("run created the local socket %s", sock)
	}
}

func TestRunMissingConfigFile(t *testing.T) {
	path := t.TempDir() + "/nope.yaml"
	code, out, errOut := fenghuo(t, "run", "--config", path)
	if code != 1 || out != "" || !strings.HasPrefix(errOut, "fenghuo: cannot read config "+path+": ") || !strings.Contains(errOut, "the gateway was not started") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and why", code, out, errOut)
	}
}

// sim serves the config's tcp-bus devices with their profiles' defaults
// until its context is done, then exits 0 and closes the port.
func TestSimServesUntilCanceled(t *testing.T) {
	cleanEnv(t)
	addr := freePort(t)
	path := writeFile(t, "sim.yaml", goodConfig(addr))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- fenghuoCtx(ctx, []string{"sim", "--config", path}, &stdout, &stderr) }()

	tr := transport.NewTCP(addr, 500*time.Millisecond)
	defer tr.Close()
	var regs []byte
	deadline := time.Now().Add(5 * time.Second)
	for {
		var err error
		regs, err = tr.Read(t.Context(), 1, 3, 0, 7) // smoke-detector: fc3 @0+7
		if err == nil {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("sim exited %d before serving; stderr:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer from sim at %s: %v; stdout:\n%s", addr, err, stdout.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The profile's defaults: contamination 3 %, temperature 22.5 °C (raw 225).
	word := func(i int) int { return int(regs[2*i])<<8 | int(regs[2*i+1]) }
	if word(3) != 3 || word(5) != 225 {
		t.Errorf("smoke-1 registers %v: contamination %d, temperature raw %d; want 3 and 225", regs, word(3), word(5))
	}
	if _, err := tr.Read(t.Context(), 7, 3, 0, 3); err != nil { // electrical-fire-1p: fc3 @0+3
		t.Errorf("slave 7 (efd-1): %v", err)
	}
	// The banner is printed beside the serving, not before it: wait for
	// it (seen once: the registers answered before the lines were out).
	for _, w := range []string{
		"bus lan: slave 1 smoke-1 (smoke-detector)\n",
		"bus lan: slave 7 efd-1 (electrical-fire-1p)\n",
		"bus lan: Modbus TCP on " + addr + "\n",
	} {
		for !strings.Contains(stdout.String(), w) {
			if time.Now().After(deadline) {
				t.Fatalf("stdout lacks %q:\n%s", w, stdout.String())
			}
			time.Sleep(20 * time.Millisecond) // polling the output, bounded by the deadline
		}
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("sim exited %d after cancel, want 0; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("sim did not return after its context was canceled")
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("sim still listens on %s after it returned", addr)
	}
}

func TestSimPortInUse(t *testing.T) {
	cleanEnv(t)
	busy := listen(t)
	path := writeFile(t, "sim.yaml", goodConfig(busy.Addr().String()))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var stdout, stderr syncBuffer
	code := fenghuoCtx(ctx, []string{"sim", "--config", path}, &stdout, &stderr)
	if code != 1 || !strings.HasPrefix(stderr.String(), "fenghuo: bus lan: ") {
		t.Errorf("exit %d, stderr %q; want exit 1 and the bus that cannot listen", code, stderr.String())
	}
}

func TestSimNothingToServe(t *testing.T) {
	cleanEnv(t)
	cfg := strings.Replace(goodConfig("x"), "    type: tcp\n    address: x\n", "    type: rtu\n    port: /dev/ttyS1\n", 1)
	path := writeFile(t, "sim.yaml", cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var stdout, stderr syncBuffer
	code := fenghuoCtx(ctx, []string{"sim", "--config", path}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "no device on a tcp or rtu-over-tcp bus") ||
		!strings.Contains(stdout.String(), "bus lan: type rtu is not simulated") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 1, nothing to simulate", code, stdout.String(), stderr.String())
	}
}

func TestSimBadConfig(t *testing.T) {
	cleanEnv(t)
	path := writeFile(t, "bad.yaml", badConfig)
	code, _, errOut := fenghuo(t, "sim", "--config", path)
	if code != 1 || !strings.HasSuffix(errOut, ": 5 problems; the simulator was not started\n") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}

// An ack that cannot reach its broker is a failure (1), not a usage error.
func TestStationAckBrokerDown(t *testing.T) {
	addr := freePort(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var stdout, stderr syncBuffer
	code := fenghuoCtx(ctx, []string{"station", "ack", "T-1", "--broker", "tcp://" + addr, "--township", "330502103", "--gateway", "gw-1"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "connect tcp://"+addr) || strings.Contains(stdout.String(), "ack sent") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and the connect error", code, stdout.String(), stderr.String())
	}
}
