//go:build linux && (386 || amd64 || arm || arm64 || riscv64 || loong64)

package transport

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// lockPort takes an exclusive, non-blocking flock on the open tty f (see
// ErrPortLocked).
func lockPort(f *os.File, port string) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) {
		lerr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
	}); err != nil {
		return err
	}
	if errors.Is(lerr, syscall.EWOULDBLOCK) {
		return fmt.Errorf("%s is locked by %s: %w", port, lockHolder(f), ErrPortLocked)
	}
	if lerr != nil {
		return fmt.Errorf("%s: flock: %w", port, lerr)
	}
	return nil
}

// lockHolder names the process holding the flock on f's inode, from
// /proc/locks: "pid 1234 (fenghuo run --config /etc/fenghuo/config.yaml)",
// or "another process" when it cannot be told.
func lockHolder(f *os.File) string {
	fi, err := f.Stat()
	st, ok := fi.Sys().(*syscall.Stat_t)
	if err != nil || !ok {
		return "another process"
	}
	dev := uint64(st.Dev)
	major := (dev>>8)&0xfff | (dev>>32)&^0xfff
	minor := dev&0xff | (dev>>12)&^0xff
	want := fmt.Sprintf("%02x:%02x:%d", major, minor, st.Ino)
	locks, err := os.Open("/proc/locks")
	if err != nil {
		return "another process"
	}
	defer locks.Close()
	sc := bufio.NewScanner(locks)
	for sc.Scan() {
		// "1: FLOCK  ADVISORY  WRITE 1234 00:19:7 0 EOF"
		fs := strings.Fields(sc.Text())
		if len(fs) < 6 || fs[1] != "FLOCK" || fs[5] != want {
			continue
		}
		pid, err := strconv.Atoi(fs[4])
		if err != nil || pid <= 0 {
			continue
		}
		return fmt.Sprintf("pid %d (%s)", pid, commandLine(pid))
	}
	return "another process"
}

// commandLine is pid's command line, shortened, or "?".
func commandLine(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(b) == 0 {
		return "?"
	}
	s := strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
	if len(s) > 100 {
		s = s[:97] + "..."
	}
	return s
}

// CheckPortFree reports whether port could be opened as a master now: it
// opens the tty (which sends nothing on the line), tries the lock and
// closes it again. A port another process holds gives an error wrapping
// ErrPortLocked that names the holder.
func CheckPortFree(port string) error {
	f, err := os.OpenFile(port, os.O_RDWR|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return lockPort(f, port)
}
