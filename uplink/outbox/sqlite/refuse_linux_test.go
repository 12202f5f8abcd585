package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox/outboxtest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/sqlite"
)

// nobody is the unprivileged uid the child processes run as: as root,
// permission bits do not stop the test itself.
const nobody = 65534

const envChildOp = "FENGHUO_OUTBOX_CHILD_OP"

// TestChildProcess is not a test: it is the body of the child process
// runAsNobody starts (the test binary re-executed with a lowered uid).
func TestChildProcess(t *testing.T) {
	op := os.Getenv(envChildOp)
	if op == "" {
		t.Skip("only run as a child process")
	}
	path := os.Getenv("FENGHUO_OUTBOX_CHILD_PATH")
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		var oe *sqlite.OpenError
		fmt.Printf("REFUSED openerror=%v: %v\n", errors.As(err, &oe), err)
		return
	}
	defer s.Close()
	if op == "create" {
		fire1, fire2 := outboxtest.Ticket(1, 1), outboxtest.Ticket(2, 1)
		if _, err := s.Append(context.Background(), fire1, fire2); err != nil {
			fmt.Printf("APPEND FAILED: %v\n", err)
			return
		}
	}
	var got []string
	pending, err := s.Pending(context.Background(), 0)
	if err != nil {
		fmt.Printf("PENDING FAILED: %v\n", err)
		return
	}
	for _, r := range pending {
		got = append(got, fmt.Sprintf("%d/%s/L%d", r.Seq, r.EventID, r.Level))
	}
	fmt.Printf("OPENED pending=%s\n", strings.Join(got, ","))
}

// runAsNobody runs op on the outbox at path in a child process with uid
// and gid 65534 (as a normal user: with the test's own uid, which
// permission bits already stop), and returns its output line. The test binary is copied to
// a directory nobody can read (the build cache is root's).
func runAsNobody(t *testing.T, bin, op, path string) string {
	t.Helper()
	cmd := exec.Command(bin, "-test.run=^TestChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChildOp+"="+op, "FENGHUO_OUTBOX_CHILD_PATH="+path)
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	}
	out, err := cmd.CombinedOutput()
	if errors.Is(err, syscall.ENOEXEC) {
		// scripts/cross-check.sh runs this binary under qemu-user, which
		// cannot start a copy of itself without binfmt: make test runs
		// these tests natively.
		t.Skipf("cannot start a copy of the test binary here (%v): an emulated architecture", err)
	}
	if err != nil {
		t.Fatalf("child %s: %v\n%s", op, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "REFUSED") || strings.HasPrefix(line, "OPENED") || strings.Contains(line, "FAILED") {
			return line
		}
	}
	t.Fatalf("child %s said nothing useful:\n%s", op, out)
	return ""
}

// nobodyDir returns a directory owned by nobody, reachable by nobody, and
// a copy of the test binary nobody may run.
func nobodyDir(t *testing.T) (dir, bin string) {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir = filepath.Join(root, "buffer")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(dir, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(root, "outbox.test")
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, bin
}

// TestUnreadableOutboxRefused is issue 15's scenario: an outbox holding
// two unsent fire alarms is made unreadable to the gateway's user. Open
// must refuse with an *OpenError naming the path and "permission denied",
// and must NOT move the file aside; once it is readable again, both
// alarms are still there with their seqs.
func TestUnreadableOutboxRefused(t *testing.T) {
	dir, bin := nobodyDir(t)
	path := filepath.Join(dir, "outbox.db")
	if got := runAsNobody(t, bin, "create", path); got != "OPENED pending=1/ev-1/L1,2/ev-2/L1" {
		t.Fatalf("creating the outbox as nobody: %s", got)
	}
	if err := os.Chmod(path, 0); err != nil {
		t.Fatal(err)
	}
	got := runAsNobody(t, bin, "open", path)
	if !strings.HasPrefix(got, "REFUSED openerror=true") || !strings.Contains(got, path) || !strings.Contains(got, "permission denied") {
		t.Fatalf("Open of an unreadable outbox: %s\nwant an *OpenError naming %s and permission denied", got, path)
	}
	assertNotMovedAside(t, dir)
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := runAsNobody(t, bin, "open", path); got != "OPENED pending=1/ev-1/L1,2/ev-2/L1" {
		t.Fatalf("readable again: %s, want both fire alarms pending with seqs 1 and 2", got)
	}
}

// TestUnwritableDirectoryRefused: the database is readable but its
// directory does not take new files (the WAL, the state file): refused,
// not moved aside.
func TestUnwritableDirectoryRefused(t *testing.T) {
	dir, bin := nobodyDir(t)
	path := filepath.Join(dir, "outbox.db")
	if got := runAsNobody(t, bin, "create", path); !strings.HasPrefix(got, "OPENED") {
		t.Fatalf("creating the outbox as nobody: %s", got)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	got := runAsNobody(t, bin, "open", path)
	if !strings.HasPrefix(got, "REFUSED openerror=true") || !strings.Contains(got, dir) || !strings.Contains(got, "permission denied") {
		t.Fatalf("Open in an unwritable directory: %s", got)
	}
	assertNotMovedAside(t, dir)
}

func assertNotMovedAside(t *testing.T, dir string) {
	t.Helper()
	moved, _ := filepath.Glob(filepath.Join(dir, "*.corrupt-*"))
	if len(moved) > 0 {
		t.Fatalf("the outbox was moved aside: %v", moved)
	}
	if _, err := os.Stat(filepath.Join(dir, "outbox.db")); err != nil {
		t.Fatalf("the outbox file is gone: %v", err)
	}
}

// TestReadOnlyFilesystemRefused: an outbox on a filesystem remounted
// read-only is refused with "read-only filesystem", and is intact (two
// fire alarms, seqs 1 and 2) once the filesystem is writable again.
func TestReadOnlyFilesystemRefused(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=4m"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount tmpfs on %s: %v (CI=true: this test must run)", dir, err)
		}
		t.Skipf("cannot mount a tmpfs to make read-only (%v): run as root, or in CI", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	path := filepath.Join(dir, "outbox.db")
	s := openT(t, path)
	outboxtest.MustAppend(t, s, outboxtest.Ticket(1, 1), outboxtest.Ticket(2, 1))
	closeT(t, s)
	if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatalf("remount read-only: %v", err)
	}
	_, err := sqlite.Open(path, sqlite.Options{})
	var oe *sqlite.OpenError
	if !errors.As(err, &oe) || !strings.Contains(err.Error(), "read-only filesystem") || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open on a read-only filesystem: %v\nwant an *OpenError naming %s and read-only filesystem", err, path)
	}
	if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT, ""); err != nil {
		t.Fatalf("remount read-write: %v", err)
	}
	assertNotMovedAside(t, dir)
	s = openT(t, path)
	defer closeT(t, s)
	if got := fmt.Sprint(outboxtest.Seqs(outboxtest.MustPending(t, s))); got != "[1 2]" {
		t.Fatalf("pending after the filesystem is writable again: %s, want [1 2]", got)
	}
}

// TestMissingDirectoryRefused: a missing directory is an *OpenError that
// names it.
func TestMissingDirectoryRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "no", "such")
	_, err := sqlite.Open(filepath.Join(dir, "outbox.db"), sqlite.Options{})
	var oe *sqlite.OpenError
	if !errors.As(err, &oe) || oe.Path != dir || !strings.Contains(err.Error(), "directory missing") {
		t.Fatalf("Open in a missing directory: %v; want an *OpenError for %s", err, dir)
	}
}

// TestMalformedDatabaseMovedAside: a real database whose pages were
// damaged (it fails SQLite's checks) is still moved aside.
func TestMalformedDatabaseMovedAside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "outbox.db")
	s := openT(t, path)
	for i := range 50 {
		outboxtest.MustAppend(t, s, outboxtest.Ticket(i, 2))
	}
	closeT(t, s)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 4096 + 8; i < len(b) && i < 3*4096; i++ { // page 2 onwards, past the page header
		b[i] = 0xA5
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatalf("Open of a malformed database must recover: %v", err)
	}
	defer closeT(t, s)
	if s.Recovered() == nil {
		t.Fatal("a malformed database was not moved aside")
	}
	if r := outboxtest.MustAppend(t, s, outboxtest.Ticket(99, 1)); r[0].Seq != 51 {
		t.Fatalf("seq after the malformed outbox was moved aside = %d, want 51 (continued from the state file)", r[0].Seq)
	}
}
