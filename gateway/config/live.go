package config

import (
	"errors"
	"reflect"
	"slices"
	"strings"
)

// LiveMQTTKeys are the uplink.mqtt keys a running gateway applies by
// moving its MQTT link (mqttlink.Link.SetConnection): it says offline on
// the old broker and connects with the new settings at once. A pushed
// config that changes them is kept only if the link connects within the
// confirm window; otherwise the previous config is restored.
var LiveMQTTKeys = []string{"broker", "client_id", "username", "password", "password_file",
	"ca_file", "cert_file", "key_file", "keepalive", "allow_insecure"}

// NeedsRestart refuses the changes from c to next that a running gateway
// cannot apply, each named with its key: the gateway id (every ticket id
// and topic carries it), the uplink section except the connection keys
// of LiveMQTTKeys (topics, heartbeat, telemetry, downlink keys and
// permissions, the connect spread, the second uplink), the outbox
// (buffer), the local socket and metrics listener, and logging. A restart
// applies them. Everything else (site, buses, devices, profiles, rules,
// the MQTT connection) a reload applies live.
func (c *Config) NeedsRestart(next *Config) error {
	var keys []string
	if c.Gateway.ID != next.Gateway.ID {
		keys = append(keys, "gateway.id")
	}
	keys = append(keys, changedKeys("uplink", reflect.ValueOf(c.Uplink), reflect.ValueOf(next.Uplink))...)
	for _, s := range []struct {
		key       string
		was, will any
	}{
		{"buffer", c.Buffer, next.Buffer},
		{"local", c.Local, next.Local},
		{"log", c.Log, next.Log},
	} {
		if !reflect.DeepEqual(s.was, s.will) {
			keys = append(keys, s.key)
		}
	}
	var errs []error
	for _, k := range keys {
		errs = append(errs, &FieldError{Path: k,
			Msg: "changed, and cannot be applied while the gateway runs; restart the daemon to apply it (systemctl restart fenghuo)"})
	}
	return errors.Join(errs...)
}

// changedKeys lists the keys of the uplink section (a struct, walked by
// its yaml tags; uplink.mqtt one level down) that differ, leaving out
// LiveMQTTKeys. A field read from a file (yaml "-": the downlink key)
// counts as its file's key.
func changedKeys(prefix string, a, b reflect.Value) []string {
	var out []string
	seen := map[string]bool{}
	t := a.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			name = keyOfSecret[f.Name]
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		key := prefix + "." + name
		switch {
		case key == "uplink.mqtt":
			out = append(out, changedKeys(key, a.Field(i), b.Field(i))...)
			continue
		case prefix == "uplink.mqtt" && slices.Contains(LiveMQTTKeys, name):
			continue
		}
		if !reflect.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()) && !seen[key] {
			seen[key] = true
			out = append(out, key)
		}
	}
	return out
}

// keyOfSecret names the key of a field read from a file.
var keyOfSecret = map[string]string{"CmdKey": "cmd_key_file"}
