package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden files")

// syncBuffer is a bytes.Buffer safe for a command running in a goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cleanEnv removes FENGHUO_ overrides of the environment the tests run in,
// so the outputs depend on the test's files alone.
func cleanEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "FENGHUO_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

// fenghuo runs the command line through Main and returns its exit code,
// stdout and stderr.
func fenghuo(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// fenghuoCtx runs the command line with ctx (for the commands that block).
func fenghuoCtx(ctx context.Context, args []string, stdout, stderr *syncBuffer) int {
	return run(ctx, args, stdout, stderr)
}

// writeFile writes content to name in a fresh temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// lines splits output into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./gateway/cli -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test ./gateway/cli -update rewrites it)\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func TestVersion(t *testing.T) {
	code, out, errOut := fenghuo(t, "version")
	if code != 0 || errOut != "" {
		t.Fatalf("version: exit %d, stderr %q", code, errOut)
	}
	if !strings.HasPrefix(out, "fenghuo "+Version()+" (commit ") || len(lines(out)) != 1 {
		t.Errorf("version printed %q, want one line \"fenghuo %s (commit ...\"", out, Version())
	}
}

// Usage errors exit 2 with the problem and a pointer to --help on stderr,
// and print nothing on stdout (no help page that a script would take for
// output).
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string // substrings of stderr
	}{
		{nil, []string{"fenghuo: a command is required (config, demo, diag, run, sim, station, version)", "Run 'fenghuo --help' for usage."}},
		{[]string{"bogus"}, []string{`unknown command "bogus" for "fenghuo"`, "Run 'fenghuo --help' for usage."}},
		{[]string{"verison"}, []string{`unknown command "verison" for "fenghuo" (did you mean "version"?)`}},
		{[]string{"version", "--nope"}, []string{"unknown flag: --nope", "Run 'fenghuo version --help' for usage."}},
		{[]string{"version", "extra"}, []string{`unknown command "extra" for "fenghuo version"`}},
		{[]string{"config"}, []string{"fenghuo: config: a command is required (check, init)", "Run 'fenghuo config --help' for usage."}},
		{[]string{"config", "chek", "x.yaml"}, []string{`unknown command "chek" for "fenghuo config" (did you mean "check"?)`}},
		{[]string{"config", "check"}, []string{"config check: exactly one FILE is required", "Run 'fenghuo config check --help' for usage."}},
		{[]string{"config", "check", "a.yaml", "b.yaml"}, []string{"config check: exactly one FILE is required"}},
		{[]string{"config", "check", "--prnt", "a.yaml"}, []string{"unknown flag: --prnt"}},
		{[]string{"run"}, []string{"run: --config FILE is required", "Run 'fenghuo run --help' for usage."}},
		{[]string{"run", "--config"}, []string{"flag needs an argument: --config"}},
		{[]string{"run", "-c", "a.yaml", "extra"}, []string{`unknown command "extra" for "fenghuo run"`}},
		{[]string{"sim"}, []string{"sim: --config FILE is required"}},
		{[]string{"demo", "now"}, []string{`unknown command "now" for "fenghuo demo"`}},
		{[]string{"station"}, []string{"station: a command is required (ack, centre, serve, user, watch)"}},
		{[]string{"station", "watch"}, []string{"station watch: --broker URL is required"}},
		{[]string{"station", "serve", "--db", "s.db"}, []string{"station serve: --broker URL and --db FILE are required"}},
		{[]string{"station", "ack"}, []string{"station ack: exactly one TICKET_ID is required"}},
		{[]string{"station", "ack", "--broker", "tcp://127.0.0.1:1883", "--township", "330502103", "--gateway", "gw-1"}, []string{"station ack: exactly one TICKET_ID is required"}},
		{[]string{"station", "ack", "T-1"}, []string{"station ack: --broker is required", "Run 'fenghuo station ack --help' for usage."}},
		{[]string{"station", "ack", "T-1", "--broker", "tcp://127.0.0.1:1883", "--township", "+", "--gateway", "gw-1"}, []string{"no MQTT wildcards"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := fenghuo(t, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (usage error); stderr:\n%s", code, errOut)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr does not say %q:\n%s", w, errOut)
				}
			}
		})
	}
}

// Help asked for is not an error.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"config", "--help"}, {"config", "check", "--help"}, {"station", "ack", "-h"}} {
		code, out, errOut := fenghuo(t, args...)
		if code != 0 || !strings.Contains(out, "Usage:") || errOut != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 0 and the help on stdout", args, code, out, errOut)
		}
	}
}
