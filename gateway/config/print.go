package config

import (
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// Print writes the resolved config (defaults and environment overrides
// applied) as YAML, with the password shown as REDACTED. It is what
// `fenghuo config check --print` shows; the output loads back with Load
// once the password is supplied again.
func (c *Config) Print(w io.Writer) error {
	if _, err := fmt.Fprintln(w, "# resolved config: defaults and FENGHUO_ overrides applied, secrets redacted"); err != nil {
		return err
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("print config: %w", err)
	}
	return enc.Close()
}

// Summary is a one-line description of a valid config, e.g.
//
//	ok: gateway gw-330502103-yuncun-01, 2 buses, 5 devices (3 profiles), 23 rules, broker tls://mqtt.township.example:8883
//
// The rule count is the sum of every device's effective rules.
func (c *Config) Summary() string {
	profiles := map[string]bool{}
	for _, d := range c.Devices {
		profiles[d.Profile] = true
	}
	rules := "rules unresolved"
	if c.profiles != nil {
		if sets, err := c.DeviceRules(c.profiles); err == nil {
			n := 0
			for _, s := range sets {
				n += len(s.Specs)
			}
			rules = fmt.Sprintf("%d %s", n, plural(n, "rule"))
		}
	}
	return fmt.Sprintf("ok: gateway %s, %d %s, %d %s (%d %s), %s, broker %s",
		c.Gateway.ID, len(c.Buses), plural(len(c.Buses), "bus"),
		len(c.Devices), plural(len(c.Devices), "device"), len(profiles), plural(len(profiles), "profile"),
		rules, c.Uplink.MQTT.Broker)
}

func plural(n int, word string) string {
	switch {
	case n == 1:
		return word
	case word == "bus":
		return "buses"
	}
	return word + "s"
}
