package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fenghuo-iot/fenghuo/gateway/config"
)

const scanJSON = `{"bus":"rs485-2","from":1,"to":247,"took_ms":1234,"found":[
 {"slave":7,"latency_ms":15.1,"profile":"electrical-fire-1p","confidence":"probe"},
 {"slave":1,"latency_ms":12.3,"profile":"smoke-detector","confidence":"probe","candidates":["smoke-detector","smoke-485-basic"]},
 {"slave":9,"latency_ms":20,"profile":"","confidence":"","answer":"exception 02 illegal data address"}]}`

// config init from a scan: the matched devices, the unmatched one
// commented out with a TODO; the file passes config check; it is not
// overwritten without --force.
func TestConfigInitFromScan(t *testing.T) {
	cleanEnv(t)
	scan := writeFile(t, "scan.json", scanJSON)
	out := filepath.Join(t.TempDir(), "fenghuo.yaml")
	code, stdout, stderr := fenghuo(t, "config", "init", "--from-scan", scan, "--port", "/dev/ttyUSB0", "--baud", "4800", "--parity", "E", "-o", out)
	if code != 0 || stderr != "" || stdout != "wrote "+out+": 2 devices on bus rs485-2; fill in the TODOs, then `fenghuo config check "+out+"`\n" {
		t.Fatalf("config init: exit %d %q %q", code, stdout, stderr)
	}
	code, stdout, stderr = fenghuo(t, "config", "check", out)
	if code != 0 || !strings.Contains(stdout, "\nok: gateway gw-330502103-site-01, 1 bus, 2 devices (2 profiles)") ||
		!strings.HasPrefix(stdout, "line rs485-2: 11 reads, load 21% of the line (4800 baud") {
		t.Fatalf("config check of the written config: exit %d %q %q", code, stdout, stderr)
	}
	cfg, err := config.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Buses[0]
	if b.Name != "rs485-2" || b.Type != "rtu" || b.Port != "/dev/ttyUSB0" || b.Baud != 4800 || b.Parity != "E" {
		t.Errorf("bus %+v", b)
	}
	if len(cfg.Devices) != 2 || cfg.Devices[0].ID != "smoke-detector-1" || cfg.Devices[0].Slave != 1 || cfg.Devices[1].Profile != "electrical-fire-1p" || cfg.Devices[1].Slave != 7 {
		t.Errorf("devices %+v", cfg.Devices)
	}
	text, _ := os.ReadFile(out)
	for _, w := range []string{
		"# TODO: slave 9 answered (20.0 ms, exception 02 illegal data address) but matched no shipped profile: set its profile",
		"  # - id: device-9\n",
		"  - id: smoke-detector-1 # matched by scan (probe; also matched smoke-485-basic), answered in 12.3 ms\n",
		"  #   slave: 9\n",
	} {
		if !strings.Contains(string(text), w) {
			t.Errorf("written config lacks %q:\n%s", w, text)
		}
	}

	code, _, stderr = fenghuo(t, "config", "init", "--from-scan", scan, "-o", out)
	if code != 1 || !strings.Contains(stderr, out+" exists; not overwriting it (--force to replace it)") {
		t.Errorf("second init: exit %d %q", code, stderr)
	}
	if code, _, stderr = fenghuo(t, "config", "init", "--from-scan", scan, "-o", out, "--force", "--bus", "lan", "--type", "tcp", "--address", "192.168.1.50:502"); code != 0 {
		t.Fatalf("init --force: exit %d %q", code, stderr)
	}
	if cfg, err := config.Load(out); err != nil || cfg.Buses[0].Name != "lan" || cfg.Buses[0].Address != "192.168.1.50:502" || cfg.Devices[0].Bus != "lan" {
		t.Errorf("after --force: %v %+v", err, cfg)
	}
}

// Without a scan: the skeleton, on stdout, valid.
func TestConfigInitSkeleton(t *testing.T) {
	cleanEnv(t)
	code, stdout, stderr := fenghuo(t, "config", "init")
	if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "# fenghuo gateway config, written by `fenghuo config init`.") {
		t.Fatalf("config init: exit %d %q\n%s", code, stderr, stdout)
	}
	cfg, err := config.Parse([]byte(stdout))
	if err != nil || len(cfg.Devices) != 1 || cfg.Devices[0].Profile != "smoke-detector" {
		t.Errorf("skeleton: %v %+v", err, cfg)
	}
}

func TestConfigInitBadInput(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name, scan, want string
		args             []string
	}{
		{"nothing matched", `{"bus":"rs485-1","found":[{"slave":3,"profile":""}]}`, "no answering slave (3) matched a profile", nil},
		{"nothing found", `{"bus":"rs485-1","found":[]}`, "the scan of bus rs485-1 found no device", nil},
		{"not JSON", `slave 1 found`, "not the JSON of `fenghuo diag scan --json`", nil},
		{"bad slave", `{"bus":"b","found":[{"slave":300,"profile":"smoke-detector"}]}`, "found[0].slave 300 is out of range 1..247", nil},
		{"invalid result", scanJSON, `the config would not be valid, nothing written: gateway.site.area_code: "123" must be 6..12 digits; gateway.site.township_code: "123" must be 9 digits`, []string{"--township-code", "123"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			args := append([]string{"config", "init", "--from-scan", writeFile(t, "scan.json", tc.scan), "-o", out}, tc.args...)
			code, _, stderr := fenghuo(t, args...)
			if code != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was written", out)
			}
		})
	}
}
