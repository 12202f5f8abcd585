package memtrim

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Trim advises the read-only mappings of the running executable (see the
// package doc). An error says what was not advised; the daemon runs on
// either way.
func Trim() (Result, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return Result{}, err
	}
	spans, err := readOnlyMappings("/proc/self/maps", exe)
	if err != nil {
		return Result{}, err
	}
	var res Result
	for _, s := range spans {
		if err := madvise(s, unix.MADV_RANDOM); err != nil {
			return res, fmt.Errorf("madvise random %#x-%#x: %w", s.start, s.end, err)
		}
		if err := madvise(s, unix.MADV_PAGEOUT); err != nil {
			return res, fmt.Errorf("madvise pageout %#x-%#x (Linux 5.4+): %w", s.start, s.end, err)
		}
		res.Mappings++
		res.Bytes += int64(s.end - s.start)
	}
	return res, nil
}

type span struct{ start, end uintptr }

// madvise advises a mapping the runtime did not make (so there is no Go
// slice of it): the raw system call on its addresses.
func madvise(s span, advice int) error {
	if _, _, e := unix.Syscall(unix.SYS_MADVISE, s.start, s.end-s.start, uintptr(advice)); e != 0 {
		return e
	}
	return nil
}

// readOnlyMappings lists the mappings of path that are not writable
// (text and read-only data) in a /proc/PID/maps file.
func readOnlyMappings(maps, path string) ([]span, error) {
	f, err := os.Open(maps)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []span
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 00403000-00dea000 r-xp 00003000 fd:01 1234   /usr/bin/fenghuo
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || strings.Join(fields[5:], " ") != path || fields[1][1] == 'w' || fields[1][0] != 'r' {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		a, err1 := strconv.ParseUint(lo, 16, 64)
		b, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || b <= a {
			continue
		}
		out = append(out, span{uintptr(a), uintptr(b)})
	}
	return out, sc.Err()
}
