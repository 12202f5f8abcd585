package config

import (
	"strings"
	"testing"
)

// TestNeedsRestart: the MQTT connection keys (LiveMQTTKeys) and the
// buses, devices and rules change live; every other uplink key, the
// gateway id, the outbox, the local API and logging are refused, each
// named by its own key path.
func TestNeedsRestart(t *testing.T) {
	cur := mustParse(t, minimal)
	live := strings.Replace(minimal, `broker: "tls://mqtt.township.example:8883"`, `broker: "tls://mqtt2.township.example:8883"`, 1)
	live = strings.Replace(live, "username: gw", "username: gw2\n    client_id: gw-x\n    keepalive: 45s", 1)
	live = strings.Replace(live, "slave: 1,", "slave: 2,", 1)
	if err := cur.NeedsRestart(mustParse(t, live)); err != nil {
		t.Fatalf("connection keys, a slave address: %v, want applied live", err)
	}
	restart := strings.Replace(minimal, "username: gw", "username: gw\n    topic_prefix: other/v1\n    connect_spread: 5s\n  heartbeat: 10s", 1)
	restart = strings.Replace(restart, "id: gw-330502103-test-01", "id: gw-330502103-test-02", 1)
	restart += "buffer: {max_size: 64MiB}\n"
	err := cur.NeedsRestart(mustParse(t, restart))
	var got []string
	for _, p := range ProblemList(err) {
		key, _, _ := strings.Cut(p, ":")
		got = append(got, key)
		if !strings.Contains(p, "restart the daemon") {
			t.Errorf("problem %q does not say to restart", p)
		}
	}
	want := "gateway.id uplink.mqtt.topic_prefix uplink.mqtt.connect_spread uplink.heartbeat buffer"
	if strings.Join(got, " ") != want {
		t.Fatalf("refused keys %q, want %q", got, want)
	}
}
