package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// secret is the MQTT password of the test configs: it must never be printed.
const secret = "s3cr3t-Pa55-7fq"

// goodConfig is a small valid config with a password, on a loopback
// plaintext broker (allowed) and one tcp bus at addr.
func goodConfig(addr string) string {
	return fmt.Sprintf(`gateway:
  id: gw-330502103-test-01
  site:
    name: 测试礼堂
    township_code: "330502103"
buses:
  - name: lan
    type: tcp
    address: %s
devices:
  - id: smoke-1
    name: 一楼烟感
    bus: lan
    slave: 1
    profile: smoke-detector
  - id: efd-1
    name: 总配电箱
    bus: lan
    slave: 7
    profile: electrical-fire-1p
uplink:
  mqtt:
    broker: tcp://127.0.0.1:1883
    username: gw
    password: %s
`, addr, secret)
}

// badConfig has five problems of five kinds in one file (and a password,
// which must not leak into the problem list).
const badConfig = `gateway:
  id: gw-330502103-test-01
  site:
    name: 测试礼堂
    township_code: "330502103"
buses:
  - name: lan
    type: tcp
    address: 127.0.0.1:1502
    timeout: 3 seconds
devices:
  - id: smoke-1
    name: 一楼烟感
    bus: lan
    slave: 0
    profile: smoke-detecter
  - id: smoke-2
    name: 二楼烟感
    slvae: 2
    profile: smoke-detector
uplink:
  mqtt:
    broker: tcp://127.0.0.1:1883
    username: gw
    password: ` + secret + `
`

func shipped(name string) string { return filepath.Join("..", "..", "configs", name) }

func TestConfigCheckShippedConfigs(t *testing.T) {
	cleanEnv(t)
	// example.yaml has one RS-485 line, lightly loaded: its load, then the
	// summary; demo.yaml has only a Modbus TCP bus: the summary alone.
	for file, c := range map[string]struct {
		id   string
		load string
	}{
		"example.yaml": {"gw-330502103-yuncun-01", "line rs485-1: 11 reads, load 11% of the line (9600 baud, 1.04ms per character, gap 4.01ms)"},
		"demo.yaml":    {"gw-330502103-demo-01", ""},
	} {
		t.Run(file, func(t *testing.T) {
			code, out, errOut := fenghuo(t, "config", "check", shipped(file))
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr:\n%s", code, errOut)
			}
			l := lines(out)
			if c.load != "" {
				if len(l) == 0 || l[0] != c.load {
					t.Errorf("stdout %q, want first the line's load %q", out, c.load)
				}
				l = l[1:]
			}
			if len(l) != 1 || !strings.HasPrefix(l[0], "ok: gateway "+c.id+", ") {
				t.Errorf("stdout %q, want the summary line \"ok: gateway %s, ...\" last", out, c.id)
			}
			if !regexp.MustCompile(`, [1-9][0-9]* rules, broker `).MatchString(out) {
				t.Errorf("summary %q does not count the resolved rules", out)
			}
		})
	}
}

// Every problem of the file is reported at once, each on its own line
// with its key path, then a count; exit 1.
func TestConfigCheckReportsEveryProblem(t *testing.T) {
	cleanEnv(t)
	path := writeFile(t, "bad.yaml", badConfig)
	code, out, errOut := fenghuo(t, "config", "check", path)
	if code != 1 {
		t.Errorf("exit %d, want 1 (the config is bad)", code)
	}
	if out != "" {
		t.Errorf("stdout %q, want nothing (no ok: line for a bad config)", out)
	}
	want := []string{
		`buses[0].timeout: "3 seconds" is not a duration`,
		`devices[0].slave: 0 is out of range 1..247`,
		`devices[0].profile: "smoke-detecter" is not a known profile (did you mean "smoke-detector"?)`,
		`devices[1].bus: is required`,
		`devices[1].slvae: unknown key (did you mean "slave"?)`,
	}
	got := lines(errOut)
	if len(got) != len(want)+1 {
		t.Fatalf("stderr has %d lines, want %d problems and a count:\n%s", len(got), len(want), errOut)
	}
	for i, w := range want {
		if !strings.HasPrefix(got[i], path+": "+w) {
			t.Errorf("line %d: %q\n  want it to start with %q", i+1, got[i], path+": "+w)
		}
	}
	if last := got[len(got)-1]; last != fmt.Sprintf("fenghuo: %s: %d problems", path, len(want)) {
		t.Errorf("last line %q, want the count of problems", last)
	}
	if strings.Contains(errOut, secret) {
		t.Errorf("the password appears in the problem list:\n%s", errOut)
	}
	golden(t, "config_check_bad.golden", strings.ReplaceAll(errOut, filepath.Dir(path), "TMP"))
}

func TestConfigCheckOneProblem(t *testing.T) {
	cleanEnv(t)
	path := writeFile(t, "one.yaml", strings.Replace(goodConfig("127.0.0.1:1502"), "slave: 7", "slave: 1", 1))
	code, out, errOut := fenghuo(t, "config", "check", path)
	want := path + `: devices[1].slave: 1 on bus "lan" is also the slave of devices[0] (smoke-1)` + "\n" +
		"fenghuo: " + path + ": 1 problem\n"
	if code != 1 || out != "" || errOut != want {
		t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 1 and stderr:\n%s", code, out, errOut, want)
	}
}

func TestConfigCheckUnreadableFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	for _, path := range []string{missing, t.TempDir()} {
		code, out, errOut := fenghuo(t, "config", "check", path)
		if code != 1 || out != "" {
			t.Errorf("%s: exit %d, stdout %q; want exit 1", path, code, out)
		}
		if l := lines(errOut); len(l) != 1 || !strings.HasPrefix(l[0], "fenghuo: cannot read config "+path+": ") || strings.Count(l[0], path) != 1 {
			t.Errorf("%s: stderr %q, want one line \"fenghuo: cannot read config PATH: reason\"", path, errOut)
		}
	}
}

func TestConfigCheckEmptyAndInvalidYAML(t *testing.T) {
	for content, want := range map[string]string{
		"":         "the config is empty",
		"a: [\n":   "not valid YAML",
		"\n  \n\n": "the config is empty",
	} {
		path := writeFile(t, "c.yaml", content)
		code, _, errOut := fenghuo(t, "config", "check", path)
		if code != 1 || !strings.HasPrefix(errOut, path+": "+want) || !strings.HasSuffix(errOut, "fenghuo: "+path+": 1 problem\n") {
			t.Errorf("%q: exit %d, stderr:\n%s\nwant exit 1 and %q", content, code, errOut, want)
		}
	}
}

func TestConfigCheckProfilesDirProblems(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-dir")
	path := writeFile(t, "c.yaml", goodConfig("127.0.0.1:1502")+"profiles_dir: "+missing+"\n")
	code, _, errOut := fenghuo(t, "config", "check", path)
	if code != 1 || !strings.HasPrefix(errOut, path+": profiles_dir: ") || !strings.Contains(errOut, missing) {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and a profiles_dir problem naming %s", code, errOut, missing)
	}
}

// --print shows the resolved config with the password redacted, the
// request plan of each device with each read's interval, then the summary.
func TestConfigCheckPrint(t *testing.T) {
	cleanEnv(t)
	path := writeFile(t, "good.yaml", goodConfig("127.0.0.1:1502"))
	code, out, errOut := fenghuo(t, "config", "check", path, "--print")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	if strings.Contains(out, secret) {
		t.Fatalf("the password appears in --print output:\n%s", out)
	}
	for _, w := range []string{
		"\n    password: REDACTED\n",
		"\n    username: gw\n",
		"\n    client_id: gw-330502103-test-01\n", // a derived default
		"\n    timeout: 300ms\n",                  // a bus default
		"# request plan per device (each read with its interval)\n" +
			"smoke-1 (bus lan, slave 1, profile smoke-detector): 6 requests\n" +
			"  fc3 @0+2     every 1s\n" +
			"  fc3 @16+1    every 1s\n" +
			"  fc3 @2+4     every 5s\n" +
			"  fc3 @3+2     every 1m\n" +
			"  fc3 @6+1     every 10m\n" +
			"  fc3 @20+3    every 10m\n" +
			"efd-1 (bus lan, slave 7, profile electrical-fire-1p): ",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("--print output lacks %q", w)
		}
	}
	l := lines(out)
	if !strings.HasPrefix(l[len(l)-1], "ok: gateway gw-330502103-test-01, 1 bus, 2 devices (2 profiles), ") {
		t.Errorf("last line %q, want the summary", l[len(l)-1])
	}
	golden(t, "config_check_print.golden", out)
}

// A password from the environment is redacted too.
func TestConfigCheckPrintEnvPassword(t *testing.T) {
	cleanEnv(t)
	t.Setenv("FENGHUO_UPLINK_MQTT_PASSWORD", secret+"-env")
	path := writeFile(t, "good.yaml", strings.Replace(goodConfig("127.0.0.1:1502"), "password: "+secret, "password: \"\"", 1))
	code, out, errOut := fenghuo(t, "config", "check", "--print", path)
	if code != 0 || strings.Contains(out+errOut, secret) || !strings.Contains(out, "password: REDACTED") {
		t.Errorf("exit %d; want 0, the env password redacted; stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

func TestConfigCheckPasswordFile(t *testing.T) {
	cleanEnv(t)
	pw := writeFile(t, "mqtt.pass", secret+"\n")
	path := writeFile(t, "good.yaml", strings.Replace(goodConfig("127.0.0.1:1502"), "password: "+secret, "password_file: "+pw, 1))
	code, out, errOut := fenghuo(t, "config", "check", "--print", path)
	if code != 0 || strings.Contains(out+errOut, secret) || !strings.Contains(out, "password: REDACTED") {
		t.Errorf("exit %d; want 0, the file's password redacted; stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if err := os.Remove(pw); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = fenghuo(t, "config", "check", path)
	if code != 1 || !strings.Contains(errOut, ": uplink.mqtt.password_file: cannot be read") {
		t.Errorf("password_file removed: exit %d, stderr:\n%s", code, errOut)
	}
}

// TestConfigCheckWarnsOfAnOverloadedLine: 32 smoke detectors on one
// 9600-baud line ask for more than the line can carry; config check warns
// (exit 0) and prints the intervals the line can keep.
func TestConfigCheckWarnsOfAnOverloadedLine(t *testing.T) {
	cleanEnv(t)
	var b strings.Builder
	b.WriteString("gateway: {id: gw-budget-01, site: {name: 礼堂, township_code: \"330502103\"}}\n" +
		"buses: [{name: rs485-1, type: rtu, port: /dev/ttyS1, baud: 9600}]\n" +
		"uplink: {mqtt: {broker: \"tcp://127.0.0.1:1883\"}}\ndevices:\n")
	for i := 1; i <= 32; i++ {
		fmt.Fprintf(&b, "  - {id: smoke-%02d, name: 烟感, bus: rs485-1, slave: %d, profile: smoke-detector}\n", i, i)
	}
	file := filepath.Join(t.TempDir(), "line.yaml")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := fenghuo(t, "config", "check", file)
	if code != 0 || errOut != "" {
		t.Fatalf("an overloaded line is a warning, not a refusal: exit %d, stderr %q", code, errOut)
	}
	want := []string{
		"line rs485-1: 192 reads, load 186% of the line (9600 baud, 1.04ms per character, gap 4.01ms)",
		"warning: line rs485-1 is loaded above 80%: it cannot keep every interval; the intervals it can keep (status words first):",
		"  smoke-01 … smoke-32 (32 devices): 1s → 2.4s, 5s → 11.7s, 1m0s → 2m19s, 10m0s → 23m14s",
	}
	if l := lines(out); len(l) != 4 || strings.Join(l[:3], "\n") != strings.Join(want, "\n") || !strings.HasPrefix(l[3], "ok: gateway gw-budget-01") {
		t.Fatalf("stdout:\n%s\nwant:\n%s\nok: gateway gw-budget-01, ...", out, strings.Join(want, "\n"))
	}
}
