//go:build unix

package api

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// socketGroup names the group of the socket file (or of its directory,
// when the file cannot be seen), "fenghuo" when neither can be read.
func socketGroup(path string) string {
	for _, p := range []string{path, filepath.Dir(path)} {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			continue
		}
		gid := strconv.FormatUint(uint64(st.Gid), 10)
		if g, err := user.LookupGroupId(gid); err == nil {
			return g.Name
		}
		return gid
	}
	return "fenghuo"
}
