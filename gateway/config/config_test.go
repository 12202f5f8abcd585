package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite testdata/*/want.err from the current output")

// TestGolden loads every testdata/<case>/config.yaml and compares the
// problems, one per line, with want.err.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/config.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, file := range dirs {
		dir := filepath.Dir(file)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			_, err := Load(file)
			got := problemText(err)
			want := filepath.Join(dir, "want.err")
			if *update {
				if err := os.WriteFile(want, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(b) {
				t.Errorf("problems differ (go test -update rewrites want.err)\n--- got\n%s--- want\n%s", got, b)
			}
		})
	}
}

// problemText is one line per problem; every problem must be a *FieldError.
func problemText(err error) string {
	var b strings.Builder
	for _, e := range Problems(err) {
		var fe *FieldError
		if !errors.As(e, &fe) {
			b.WriteString("NOT A FieldError: ")
		}
		b.WriteString(e.Error() + "\n")
	}
	return b.String()
}

// TestShippedConfigs: the template and the demo config load clean.
func TestShippedConfigs(t *testing.T) {
	for _, f := range []string{"../../configs/example.yaml", "../../configs/demo.yaml"} {
		c, err := Load(f)
		if err != nil {
			t.Errorf("%s:\n%s", f, problemText(err))
			continue
		}
		if !strings.HasPrefix(c.Summary(), "ok: gateway ") {
			t.Errorf("%s: summary %q", f, c.Summary())
		}
	}
}

const minimal = `
gateway:
  id: gw-330502103-test-01
  site: {name: 云村文化礼堂, township_code: "330502103"}
buses:
  - {name: lan, type: tcp, address: "192.168.1.50:502"}
  - {name: rs485-1, type: rtu, port: /dev/ttyS1, retries: 0, parity: E}
devices:
  - {id: smoke-1f-kitchen, name: 一楼厨房烟感, bus: rs485-1, slave: 1, profile: smoke-detector}
uplink:
  mqtt:
    broker: "tls://mqtt.township.example:8883"
    username: gw
`

func mustParse(t *testing.T, text string) *Config {
	t.Helper()
	c, err := Parse([]byte(text))
	if err != nil {
		t.Fatalf("Parse:\n%s", problemText(err))
	}
	return c
}

// TestDefaults: left-out keys take DESIGN §3's defaults; a key set to a
// zero value keeps it.
func TestDefaults(t *testing.T) {
	c := mustParse(t, minimal)
	lan, rtu := c.Buses[0], c.Buses[1]
	if lan.Timeout != 300*time.Millisecond || lan.Retries != 1 || lan.Baud != 9600 || lan.DataBits != 8 || lan.Parity != "N" || lan.StopBits != 1 {
		t.Errorf("bus defaults: %+v", lan)
	}
	if rtu.Retries != 0 || rtu.Parity != "E" {
		t.Errorf("explicit retries: 0 / parity E lost: %+v", rtu)
	}
	m := c.Uplink.MQTT
	if m.ClientID != c.Gateway.ID || m.TopicPrefix != "fenghuo/v1" || m.Keepalive != 30*time.Second || m.ConnectSpread != 10*time.Second {
		t.Errorf("mqtt defaults: %+v", m)
	}
	if c.Uplink.Heartbeat != 30*time.Second || !c.Uplink.Telemetry.Enabled || c.Uplink.Telemetry.Interval != time.Minute {
		t.Errorf("uplink defaults: %+v", c.Uplink)
	}
	if c.Buffer.Path != DefaultBufferPath || c.Buffer.MaxSize != 256*MiB {
		t.Errorf("buffer defaults: %+v", c.Buffer)
	}
	if c.Local.Socket != DefaultSocket || c.Local.Metrics != DefaultMetrics || c.Log.Level != "info" || c.Log.Format != "text" {
		t.Errorf("local/log defaults: %+v %+v", c.Local, c.Log)
	}
	s := c.Gateway.Site
	if s.AreaCode != "330502103" || s.TrackZh != "平安法治" || s.ClientZh != "云村文化礼堂" {
		t.Errorf("site defaults: %+v", s)
	}
}

// TestEnvOverride: FENGHUO_ variables override scalar keys, and a bad
// value names its variable.
func TestEnvOverride(t *testing.T) {
	t.Setenv("FENGHUO_UPLINK_MQTT_PASSWORD", "from-env-s3cret")
	t.Setenv("FENGHUO_GATEWAY_ID", "gw-330502103-env-01")
	t.Setenv("FENGHUO_BUFFER_MAX_SIZE", "1GiB")
	t.Setenv("FENGHUO_UPLINK_TELEMETRY_ENABLED", "false")
	c := mustParse(t, minimal)
	if got := c.Uplink.MQTT.Password.Reveal(); got != "from-env-s3cret" {
		t.Errorf("password = %q", got)
	}
	if c.Gateway.ID != "gw-330502103-env-01" || c.Uplink.MQTT.ClientID != "gw-330502103-env-01" {
		t.Errorf("gateway.id = %q, client_id = %q", c.Gateway.ID, c.Uplink.MQTT.ClientID)
	}
	if c.Buffer.MaxSize != GiB || c.Uplink.Telemetry.Enabled {
		t.Errorf("max_size = %v, telemetry = %+v", c.Buffer.MaxSize, c.Uplink.Telemetry)
	}

	t.Setenv("FENGHUO_UPLINK_MQTT_CONNECT_SPREAD", "0s")
	if c = mustParse(t, minimal); c.Uplink.MQTT.ConnectSpread != 0 {
		t.Errorf("connect_spread 0 (off) = %v", c.Uplink.MQTT.ConnectSpread)
	}
	t.Setenv("FENGHUO_UPLINK_MQTT_CONNECT_SPREAD", "2m")
	_, err := Parse([]byte(minimal))
	want := "uplink.mqtt.connect_spread: 2m0s is out of range 0..1m40s (0: off; longer would raise the transmission fault at every broker restart)\n"
	if got := problemText(err); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	t.Setenv("FENGHUO_UPLINK_MQTT_CONNECT_SPREAD", "10s")

	t.Setenv("FENGHUO_UPLINK_MQTT_KEEPALIVE", "soon")
	_, err = Parse([]byte(minimal))
	want = `uplink.mqtt.keepalive: "soon" is not a duration (e.g. 300ms, 30s, 5m) (from FENGHUO_UPLINK_MQTT_KEEPALIVE)` + "\n"
	if got := problemText(err); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestPasswordFile: password_file is read and trimmed; a missing file is a
// problem at its key.
func TestPasswordFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "mqtt.pass")
	if err := os.WriteFile(f, []byte("  file-s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, minimal+"    password_file: "+f+"\n")
	if got := c.Uplink.MQTT.Password.Reveal(); got != "file-s3cret" {
		t.Errorf("password = %q", got)
	}
	_, err := Parse([]byte(minimal + "    password_file: " + f + ".missing\n"))
	if got := problemText(err); !strings.HasPrefix(got, "uplink.mqtt.password_file: cannot be read") {
		t.Errorf("got %q", got)
	}
}

// TestPlaintextPassword: loopback brokers and allow_insecure are accepted.
func TestPlaintextPassword(t *testing.T) {
	base := strings.Replace(minimal, "tls://mqtt.township.example:8883", "BROKER", 1) + "    password: pw\n"
	for broker, ok := range map[string]bool{
		"tcp://127.0.0.1:1883": true, "tcp://localhost:1883": true, "mqtt://[::1]:1883": true, "tcp://127.8.0.1:1883": true,
		"tcp://192.168.1.2:1883": false, "ws://mqtt.example:80": false, "wss://mqtt.example:443": true, "ssl://10.0.0.1:8883": true,
	} {
		_, err := Parse([]byte(strings.Replace(base, "BROKER", broker, 1)))
		if (err == nil) != ok {
			t.Errorf("%s: err = %v, want ok=%v", broker, err, ok)
		}
	}
	_, err := Parse([]byte(strings.Replace(base, "BROKER", "tcp://192.168.1.2:1883", 1) + "    allow_insecure: true\n"))
	if err != nil {
		t.Errorf("allow_insecure: %v", err)
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{
		"256MiB": 256 * MiB, "1GB": 1e9, "1gib": GiB, "512 KiB": 512 * KiB, "1048576": MiB, "1.5GiB": GiB + GiB/2, "10B": 10,
	} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1MiB", "12 parsecs", "1e400GB"} {
		if _, err := ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) succeeded", in)
		}
	}
	if s := (256 * MiB).String(); s != "256MiB" {
		t.Errorf("String = %q", s)
	}
}

// TestErrorOrder: problems come in file order, numeric indexes compared as
// numbers.
func TestErrorOrder(t *testing.T) {
	if comparePaths("devices[9].slave", "devices[10].id") >= 0 {
		t.Error("devices[9] should sort before devices[10]")
	}
	if comparePaths("buses", "buses[0].name") >= 0 {
		t.Error("a parent sorts before its children")
	}
}

// TestNotAConfig: empty files and YAML syntax errors are one clear problem.
func TestNotAConfig(t *testing.T) {
	for text, want := range map[string]string{
		"":                      "the config is empty",
		"gateway:\n  id: [a\n":  "not valid YAML",
		"- just\n- a list\n":    "not valid YAML",
		"gateway:\n\tid: tab\n": "not valid YAML",
	} {
		_, err := Parse([]byte(text))
		var fe *FieldError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want a *FieldError with %q", text, err, want)
		}
	}
	if _, err := Load("testdata/no-such-file.yaml"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v", err)
	}
}

// TestMain clears FENGHUO_ variables of the developer's shell, so that the
// golden cases see only the files.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, EnvPrefix+"_") {
			os.Unsetenv(k)
		}
	}
	goleak.VerifyTestMain(m) // fails the tests if a goroutine outlives them
}
