package main

import (
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/fenghuo-iot/fenghuo/gateway/cli"
)

// envArgs, when set, makes the test binary the fenghuo binary itself
// (kill_test.go re-executes it as `fenghuo run`): the arguments, separated
// by \x1f.
const envArgs = "FENGHUO_TEST_AS_FENGHUO"

// TestMain runs the binary's own main when asked (envArgs), else the tests,
// failing them if a goroutine outlives them.
func TestMain(m *testing.M) {
	if a := os.Getenv(envArgs); a != "" {
		os.Exit(cli.Main(strings.Split(a, "\x1f"), os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m)
}
