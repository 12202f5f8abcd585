package memtrim

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestReadOnlyMappings(t *testing.T) {
	const maps = `00400000-00403000 r--p 00000000 fd:01 1234                               /usr/bin/fenghuo
00403000-00deb000 r-xp 00003000 fd:01 1234                               /usr/bin/fenghuo
00deb000-017f9000 r--p 009eb000 fd:01 1234                               /usr/bin/fenghuo
017f9000-017fc000 rw-p 013f9000 fd:01 1234                               /usr/bin/fenghuo
01900000-01a00000 r--p 00000000 fd:01 99                                 /usr/bin/fenghuo-old
02000000-02100000 r--p 00000000 fd:01 98                                 /opt/my app/fenghuo
7f0000000000-7f0000100000 r-xp 00000000 fd:01 77                         /usr/lib/x86_64-linux-gnu/libc.so.6
7f0000200000-7f0000300000 rw-p 00000000 00:00 0
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
zzzz-00400000 r--p 00000000 fd:01 1234                                   /usr/bin/fenghuo
00500000-00400000 r--p 00000000 fd:01 1234                                   /usr/bin/fenghuo
`
	f := filepath.Join(t.TempDir(), "maps")
	if err := os.WriteFile(f, []byte(maps), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readOnlyMappings(f, "/usr/bin/fenghuo")
	if err != nil {
		t.Fatal(err)
	}
	want := []span{{0x400000, 0x403000}, {0x403000, 0xdeb000}, {0xdeb000, 0x17f9000}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fenghuo: got %x, want %x (the writable data segment, other files and malformed lines are skipped)", got, want)
	}
	got, err = readOnlyMappings(f, "/opt/my app/fenghuo")
	if err != nil || !reflect.DeepEqual(got, []span{{0x2000000, 0x2100000}}) {
		t.Errorf("a path with a space: got %x, %v", got, err)
	}
}

// TestTrimReleasesTheBinary trims the test binary itself: its read-only
// mappings are advised and their resident pages drop, and the process runs
// on (the code it needs faults back in).
func TestTrimReleasesTheBinary(t *testing.T) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	before := residentKiB(t, exe)
	res, err := Trim()
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		t.Skipf("this kernel has no MADV_PAGEOUT (Linux 5.4+): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	after := residentKiB(t, exe)
	t.Logf("%d mappings, %d MiB advised; the binary's resident pages %d KiB → %d KiB", res.Mappings, res.Bytes>>20, before, after)
	if res.Mappings < 2 || res.Bytes <= 0 {
		t.Errorf("Trim advised %d mappings of %d bytes, want the text and the read-only data at least", res.Mappings, res.Bytes)
	}
	if after >= before {
		t.Errorf("the binary's read-only mappings kept %d KiB resident after Trim (%d before)", after, before)
	}
	// It runs on: a map, a goroutine, a formatted string.
	done := make(chan string)
	go func() { done <- strconv.Itoa(len(map[string]int{"a": 1})) }()
	if <-done != "1" {
		t.Error("the process misbehaved after Trim")
	}
}

// residentKiB sums Rss of the read-only mappings of path in /proc/self/smaps.
func residentKiB(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sum, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			in = len(fields) >= 6 && strings.Join(fields[5:], " ") == path && fields[1][1] != 'w'
			continue
		}
		if in && len(fields) >= 2 && fields[0] == "Rss:" {
			n, _ := strconv.Atoi(fields[1])
			sum += n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return sum
}
