package busdiag_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fenghuo-iot/fenghuo/gateway/busdiag"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
)

func TestReadScan(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"bus":"rs485-1","from":1,"to":8,"found":[{"slave":1,"profile":"smoke-detector"},{"slave":7,"profile":"electrical-fire-1p"}]}`)
	s, err := busdiag.ReadScan(good)
	if err != nil || s.Bus != "rs485-1" || len(s.Found) != 2 || s.Found[1].Slave != 7 {
		t.Fatalf("ReadScan: %v %+v", err, s)
	}
	for name, tc := range map[string]struct{ text, want string }{
		"twice.json": {`{"found":[{"slave":3},{"slave":3}]}`, "twice.json: found[1].slave 3 appears twice"},
		"zero.json":  {`{"found":[{"slave":0}]}`, "zero.json: found[0].slave 0 is out of range 1..247"},
		"text.json":  {`slave 1 found`, "text.json: not the JSON of `fenghuo diag scan --json`"},
	} {
		if _, err := busdiag.ReadScan(write(name, tc.text)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	if _, err := busdiag.ReadScan(filepath.Join(dir, "none.json")); err == nil || !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}

// The starting config of a scan is valid YAML that `config check` takes,
// one device per matched slave.
func TestStartingConfig(t *testing.T) {
	s, err := busdiag.ReadScan(writeScan(t, `{"bus":"lan","found":[{"slave":7,"profile":"electrical-fire-1p"},{"slave":9,"profile":""}]}`))
	if err != nil {
		t.Fatal(err)
	}
	text, n, err := busdiag.StartingConfig(config.TemplateOptions{GatewayID: "gw-330502103-site-01", TownshipCode: "330502103",
		SiteName: "站点", BusName: "lan", BusType: "tcp", Address: "192.168.1.50:502", Broker: "tls://mqtt.example:8883", Scan: &s})
	if err != nil || n != 1 {
		t.Fatalf("StartingConfig: %v, %d devices", err, n)
	}
	cfg, err := config.Parse(text)
	if err != nil || len(cfg.Devices) != 1 || cfg.Devices[0].Slave != 7 || !strings.Contains(string(text), "TODO") {
		t.Errorf("config: %v %+v\n%s", err, cfg, text)
	}
	_, _, err = busdiag.StartingConfig(config.TemplateOptions{GatewayID: "gw-330502103-site-01", TownshipCode: "123", BusName: "lan", BusType: "tcp", Address: "h:502", Broker: "tcp://127.0.0.1:1883"})
	if err == nil || !strings.Contains(err.Error(), `the config would not be valid, nothing written: `) || !strings.Contains(err.Error(), `township_code: "123" must be 9 digits`) {
		t.Errorf("invalid: %v", err)
	}
}

func writeScan(t *testing.T, text string) string {
	p := filepath.Join(t.TempDir(), "scan.json")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
