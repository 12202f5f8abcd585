package scaletest_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ticksPerSecond is Linux's USER_HZ.
const ticksPerSecond = 100

// statFields are the fields of /proc/PID/stat after the command name
// (field 3 is index 0).
func statFields(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
}

// cpuTicks is utime+stime of pid (with its waited children's when
// children is set).
func cpuTicks(pid int, children bool) int64 {
	f := statFields(pid)
	if len(f) < 15 {
		return 0
	}
	n := 2
	if children {
		n = 4
	}
	var sum int64
	for _, v := range f[11 : 11+n] { // utime, stime, cutime, cstime
		x, _ := strconv.ParseInt(v, 10, 64)
		sum += x
	}
	return sum
}

// familyTicks is the CPU of a postmaster (with the children it already
// reaped) and of its living children (backends, walwriter …).
func familyTicks(pm int) int64 {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var sum int64
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		if pid == pm {
			sum += cpuTicks(pid, true)
		} else if f := statFields(pid); len(f) > 1 && f[1] == strconv.Itoa(pm) {
			sum += cpuTicks(pid, false)
		}
	}
	return sum
}

// memory is VmRSS and VmHWM of pid, in kB.
func memory(pid int) (rss, hwm int64) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm
}
