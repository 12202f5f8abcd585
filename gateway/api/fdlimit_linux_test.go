package api

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFloodLeavesDescriptorsUnderALowLimit: a daemon with RLIMIT_NOFILE 64
// (a child process: the limit is per process) is flooded with 200
// connections held open by this process. The cap keeps its descriptors:
// it can still open 20 files (the broker reconnect, the outbox) while the
// flood is held. Without the cap, 64 descriptors went to the flood.
func TestFloodLeavesDescriptorsUnderALowLimit(t *testing.T) {
	if os.Getenv("FENGHUO_API_FDCHILD") != "" {
		fdChild()
		return
	}
	const flood = 200
	cmd := exec.Command(os.Args[0], "-test.run=^TestFloodLeavesDescriptorsUnderALowLimit$")
	cmd.Env = append(os.Environ(), "FENGHUO_API_FDCHILD=1", "FENGHUO_API_FDDIR="+t.TempDir())
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Process.Kill(); cmd.Wait() })
	out := bufio.NewScanner(outPipe)
	line := func() string {
		if !out.Scan() {
			t.Fatalf("child ended: %v", out.Err())
		}
		return out.Text()
	}
	path, ok := strings.CutPrefix(line(), "READY ")
	if !ok {
		t.Fatalf("child: %q", path)
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range flood {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		conns = append(conns, c) // held open: nothing sent, nothing closed
	}
	fmt.Fprintf(in, "CHECK %d\n", flood)
	if got := line(); got != "OK" {
		t.Fatalf("the daemon under the flood: %s", got)
	}
}

// fdChild is the daemon side: a server with the default cap under
// RLIMIT_NOFILE 64.
func fdChild() {
	fail := func(format string, args ...any) {
		fmt.Printf("FAIL "+format+"\n", args...)
		os.Exit(0)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fail("getrlimit: %v", err)
	}
	lim.Cur = 64
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fail("setrlimit: %v", err)
	}
	path := os.Getenv("FENGHUO_API_FDDIR") + "/fenghuo.sock"
	s, err := ListenLimits(path, handlers(), Limits{IdleTimeout: time.Minute})
	if err != nil {
		fail("listen: %v", err)
	}
	fmt.Println("READY " + path)
	in := bufio.NewScanner(os.Stdin)
	if !in.Scan() {
		os.Exit(0)
	}
	n, _ := strconv.Atoi(strings.TrimPrefix(in.Text(), "CHECK "))
	deadline := time.Now().Add(20 * time.Second)
	for c := s.Conns(); c.Active+int(c.Refused) < n; c = s.Conns() {
		if time.Now().After(deadline) {
			fail("only %d of %d connections accepted or refused: the accept loop is stuck (%+v)", c.Active+int(c.Refused), n, c)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if c := s.Conns(); c.Active > DefaultMaxConns {
		fail("%d connections held, more than the cap %d", c.Active, DefaultMaxConns)
	}
	var files []*os.File
	for i := range 20 {
		f, err := os.Open(os.DevNull)
		if err != nil {
			fail("opening file %d of 20 while the flood is held: %v", i+1, err)
		}
		files = append(files, f)
	}
	for _, f := range files {
		f.Close()
	}
	fmt.Println("OK")
	in.Scan() // until the parent is done
	os.Exit(0)
}
