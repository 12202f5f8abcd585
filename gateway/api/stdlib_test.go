package api

import (
	"go/build"
	"strings"
	"testing"
)

// gateway/api is the standard library only (STYLE §6): the CLI and other
// tools can read the daemon without pulling in drivers, rules or uplink.
func TestStandardLibraryOnly(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if first, _, _ := strings.Cut(imp, "/"); strings.Contains(first, ".") {
			t.Errorf("gateway/api imports %s; it must use the standard library only", imp)
		}
	}
}
