package cli

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
)

// uplinkConfig is a valid config whose uplink.mqtt holds extra (YAML
// lines at the mqtt level).
func uplinkConfig(t *testing.T, broker, extra string) string {
	t.Helper()
	return writeFile(t, "fenghuo.yaml", fmt.Sprintf(`gateway:
  id: gw-330502103-probe-01
  site: {name: 测试礼堂, township_code: "330502103"}
buses:
  - {name: lan, type: tcp, address: "127.0.0.1:1502"}
devices:
  - {id: smoke-1, name: 一楼烟感, bus: lan, slave: 1, profile: smoke-detector}
uplink:
  mqtt:
    broker: %q
%s
buffer: {path: %q}
`, broker, extra, t.TempDir()+"/outbox.db"))
}

// normaliseTimes replaces the step times of diag uplink ("0.3ms", "12ms")
// with "T".
var stepTime = regexp.MustCompile(`(?m)^(\S+ +(?:ok|FAILED) +)\d+(?:\.\d+)?ms +`)

func normaliseSteps(out string) string { return stepTime.ReplaceAllString(out, "${1}T  ") }

// diag uplink against mosquitto with TLS and a password: every step, the
// certificate named, the round trip on the gateway's probe topic; never
// the password.
func TestDiagUplinkTLS(t *testing.T) {
	cleanEnv(t)
	pki := mqtttest.NewPKI(t)
	broker := mqtttest.StartMosquittoWith(t, mqtttest.Options{Users: map[string]string{"gw": "s3cret-pw"}, TLS: pki.TLS(false)})
	probes := mqtttest.Subscribe(t, broker.URL(), "fenghuo/v1/330502103/gw-330502103-probe-01/probe")
	secure := strings.Replace(broker.SecureURL(), "ssl://127.0.0.1", "ssl://localhost", 1)
	cfg := uplinkConfig(t, secure, fmt.Sprintf("    username: gw\n    password: s3cret-pw\n    client_id: gw-main\n    ca_file: %q", pki.CAFile))

	code, out, errOut := fenghuo(t, "diag", "uplink", "--config", cfg)
	if code != 0 || errOut != "" {
		t.Fatalf("diag uplink: exit %d\n%s%s", code, out, errOut)
	}
	rows := lines(normaliseSteps(out))
	want := []string{
		"broker   " + secure + " (client id gw-main-probe, user gw)",
		"DNS      ok     T  localhost → ",
		"TCP      ok     T  connected to ",
		"TLS      ok     T  TLS 1.3, verified against ca_file " + pki.CAFile + "; certificate CN=",
		"MQTT     ok     T  CONNACK 0 accepted (user gw with password)",
		"publish  ok     T  PUBACK for QoS 1 on fenghuo/v1/330502103/gw-330502103-probe-01/probe",
		"uplink ok: ",
	}
	if len(rows) != len(want) {
		t.Fatalf("diag uplink: %d lines, want %d:\n%s", len(rows), len(want), out)
	}
	for i, w := range want {
		if !strings.HasPrefix(rows[i], w) {
			t.Errorf("line %d: %q, want it to start with %q", i, rows[i], w)
		}
	}
	if !strings.Contains(out, "issuer CN=fenghuo mqtttest CA") || !regexp.MustCompile(`expires \d{4}-\d\d-\d\d \(0 days left\) — RENEW IT SOON`).MatchString(out) {
		t.Errorf("TLS line lacks the issuer or the expiry:\n%s", out)
	}
	if strings.Contains(out+errOut, "s3cret-pw") {
		t.Errorf("the password is printed:\n%s", out)
	}
	if m := probes.WaitFor(1, 10e9); !strings.Contains(string(m[0].Payload), `"probe":"fenghuo diag uplink"`) {
		t.Errorf("probe message %s", m[0].Payload)
	}

	var res mqttlink.ProbeResult
	diagJSON(t, &res, 0, "diag", "uplink", "--config", cfg)
	if !res.OK || len(res.Steps) != 5 || res.Steps[2].Cert == nil || res.Steps[2].Cert.Issuer != "CN=fenghuo mqtttest CA" || res.ClientID != "gw-main-probe" {
		t.Errorf("diag uplink --json %+v", res)
	}

	// The wrong password fails at the MQTT step, named, with the CONNACK code.
	bad := uplinkConfig(t, secure, fmt.Sprintf("    username: gw\n    password: wrong\n    ca_file: %q", pki.CAFile))
	code, out, errOut = fenghuo(t, "diag", "uplink", "--config", bad)
	if code != 1 || !strings.Contains(out, "MQTT     FAILED") || !regexp.MustCompile(`fenghuo: diag uplink: MQTT failed: CONNACK [45] (not authorized|bad user name or password) \(user gw with password, client id gw-330502103-probe-01-probe\)`).MatchString(errOut) {
		t.Errorf("wrong password: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, "wrong") {
		t.Errorf("the password is printed:\n%s%s", out, errOut)
	}

	// A CA that did not sign the broker's certificate fails at TLS.
	other := mqtttest.NewPKI(t)
	code, _, errOut = fenghuo(t, "diag", "uplink", "--config", uplinkConfig(t, secure, fmt.Sprintf("    username: gw\n    password: s3cret-pw\n    ca_file: %q", other.CAFile)))
	if code != 1 || !strings.Contains(errOut, "diag uplink: TLS failed: handshake with localhost: ") || !strings.Contains(errOut, "certificate signed by unknown authority") {
		t.Errorf("foreign CA: exit %d %q", code, errOut)
	}
}

// A port nobody listens on fails at TCP, named; plaintext skips TLS.
func TestDiagUplinkUnreachable(t *testing.T) {
	cleanEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // now nobody listens there
	code, out, errOut := fenghuo(t, "diag", "uplink", "--config", uplinkConfig(t, "tcp://"+addr, ""))
	want := "DNS      —              127.0.0.1 is an address: no lookup\nTCP      FAILED T  " + addr + ": connect: connection refused"
	if code != 1 || !strings.Contains(normaliseSteps(out), want) || !strings.HasPrefix(errOut, "fenghuo: diag uplink: TCP failed: "+addr+": connect: connection refused") {
		t.Errorf("unreachable: exit %d\n%s%s\nwant %q", code, out, errOut, want)
	}
	code, _, errOut = fenghuo(t, "diag", "uplink", "--config", "/nonexistent/fenghuo.yaml")
	if code != 1 || !strings.Contains(errOut, "cannot read config /nonexistent/fenghuo.yaml") {
		t.Errorf("missing config: exit %d %q", code, errOut)
	}
}

// Plain mosquitto, anonymous: TLS is skipped, the rest passes.
func TestDiagUplinkPlain(t *testing.T) {
	cleanEnv(t)
	broker := mqtttest.StartMosquitto(t)
	code, out, errOut := fenghuo(t, "diag", "uplink", "--config", uplinkConfig(t, broker.URL(), ""))
	if code != 0 || !strings.Contains(out, "TLS      —              not used: tcp:// is plaintext") || !strings.Contains(out, "CONNACK 0 accepted (anonymous)") {
		t.Errorf("plain: exit %d\n%s%s", code, out, errOut)
	}
}
