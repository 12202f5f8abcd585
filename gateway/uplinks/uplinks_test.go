package uplinks

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/config"
)

// TestMQTTOptionsFromConfig: every connection key of uplink.mqtt reaches
// the link's options, the password revealed (it is redacted only when
// printed), the client id left to the link's default.
func TestMQTTOptionsFromConfig(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{}
	for _, n := range []string{"ca", "cert", "key"} {
		files[n] = filepath.Join(dir, n+".pem")
		if err := os.WriteFile(files[n], []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Parse(fmt.Appendf(nil, `
gateway:
  id: gw-330502103-test-01
  site: {name: 云村文化礼堂, township: 织里镇, township_code: "330502103", community: 云村, address: 湖州市吴兴区织里镇云村}
buses: [{name: lan, type: tcp, address: "127.0.0.1:1"}]
devices: [{id: smoke-1, name: 烟感, bus: lan, slave: 1, profile: smoke-detector}]
uplink:
  mqtt: {broker: "tls://broker.example:8883", username: gw, password: s3cret, ca_file: %s, cert_file: %s, key_file: %s, topic_prefix: fh/v1, keepalive: 20s}
  heartbeat: 45s
`, files["ca"], files["cert"], files["key"]))
	if err != nil {
		t.Fatal(err)
	}
	o := MQTTOptions(cfg)
	if o.Broker != "tls://broker.example:8883" || o.Username != "gw" || o.Password != "s3cret" || o.ClientID != cfg.Uplink.MQTT.ClientID {
		t.Errorf("identity: %+v", o)
	}
	if o.CAFile != files["ca"] || o.CertFile != files["cert"] || o.KeyFile != files["key"] {
		t.Errorf("TLS files: %q %q %q", o.CAFile, o.CertFile, o.KeyFile)
	}
	if o.TopicPrefix != "fh/v1" || o.TownshipCode != "330502103" || o.GatewayID != "gw-330502103-test-01" {
		t.Errorf("topics: %q %q %q", o.TopicPrefix, o.TownshipCode, o.GatewayID)
	}
	if o.Keepalive != 20*time.Second || o.Heartbeat != 45*time.Second {
		t.Errorf("keepalive %s heartbeat %s", o.Keepalive, o.Heartbeat)
	}
	if o.Outbox != nil || o.Control != nil || o.Status != nil {
		t.Error("the connection mapping sets no runtime hooks")
	}
}
