package config

import (
	"strings"
	"testing"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
)

func templateOptions(t *testing.T) TemplateOptions {
	t.Helper()
	profiles, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return TemplateOptions{GatewayID: "gw-330502103-site-01", TownshipCode: "330502103", SiteName: "TODO 场所名称",
		BusName: "rs485-1", BusType: "rtu", Port: "/dev/ttyS1", Broker: "tls://mqtt.township.example:8883", Profiles: profiles}
}

// The draft's YAML parses back into the same devices and bus, the line
// values it leaves out are the config's defaults, and the comments are
// there.
func TestTemplateRoundTrip(t *testing.T) {
	o := templateOptions(t)
	o.Scan = &api.ScanResult{Bus: "rs485-2", From: 1, To: 247, Found: []api.ScanFound{
		{Slave: 9, Profile: "", Answer: "exception 02 illegal data address"},
		{Slave: 7, LatencyMS: 15.1, Profile: "electrical-fire-1p", Confidence: "probe"},
		{Slave: 3, Profile: "not-shipped"},
		{Slave: 1, LatencyMS: 12.3, Profile: "smoke-detector", Confidence: "probe"},
	}}
	d, err := Template(o)
	if err != nil {
		t.Fatal(err)
	}
	text, err := d.YAML()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(text)
	if err != nil {
		t.Fatalf("the draft does not parse: %v\n%s", err, text)
	}
	b := cfg.Buses[0]
	if b.Baud != DefaultBaud || b.Parity != DefaultParity || b.Timeout != DefaultTimeout || b.Retries != DefaultRetries || b.Port != "/dev/ttyS1" {
		t.Errorf("bus %+v", b)
	}
	if len(cfg.Devices) != 2 || cfg.Devices[0].ID != "smoke-detector-1" || cfg.Devices[1].ID != "electrical-fire-1p-7" {
		t.Errorf("devices %+v", cfg.Devices)
	}
	if cfg.Buffer.MaxSize != DefaultMaxSize || cfg.Local.Socket != DefaultSocket || cfg.Uplink.MQTT.Keepalive != DefaultKeepalive {
		t.Errorf("defaults: buffer %+v local %+v", cfg.Buffer, cfg.Local)
	}
	s := string(text)
	for _, w := range []string{
		"# fenghuo gateway config, written by `fenghuo config init` from a scan of bus rs485-2 (slaves 1..247, 4 found).\n",
		"  id: gw-330502103-site-01 # TODO: unique in the township",
		"  # TODO: slave 3 answered (0.0 ms) but matched profile \"not-shipped\", which this fenghuo does not ship",
		"# - id: device-9\n",
		"# host:port",
	} {
		if strings.Contains(s, w) == (w == "# host:port") {
			t.Errorf("the draft: %q present is %v, want the opposite\n%s", w, strings.Contains(s, w), s)
		}
	}
	if strings.Index(s, "device-3") > strings.Index(s, "electrical-fire-1p-7") {
		t.Errorf("slave 3 is not commented out before slave 7:\n%s", s)
	}
}

// A TCP bus has an address and no serial keys.
func TestTemplateTCP(t *testing.T) {
	o := templateOptions(t)
	o.BusType, o.Address = "tcp", "192.168.1.50:502"
	d, err := Template(o)
	if err != nil {
		t.Fatal(err)
	}
	text, err := d.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if s := string(text); !strings.Contains(s, "    address: 192.168.1.50:502 # host:port\n") || strings.Contains(s, "port: /dev") || strings.Contains(s, "baud:") {
		t.Errorf("tcp bus:\n%s", s)
	}
	if _, err := Parse(text); err != nil {
		t.Errorf("tcp draft: %v", err)
	}
}

func TestTemplateNothingMatched(t *testing.T) {
	o := templateOptions(t)
	o.Scan = &api.ScanResult{Bus: "rs485-1", Found: []api.ScanFound{{Slave: 3}, {Slave: 5, Profile: "x"}}}
	if _, err := Template(o); err == nil || !strings.Contains(err.Error(), "no answering slave (3, 5) matched a profile") {
		t.Errorf("nothing matched: %v", err)
	}
	o.Scan = &api.ScanResult{Bus: "rs485-1"}
	if _, err := Template(o); err == nil || !strings.Contains(err.Error(), "the scan of bus rs485-1 found no device") {
		t.Errorf("nothing found: %v", err)
	}
}
