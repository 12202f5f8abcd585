package config

import (
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
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
	if err := enc.Close(); err != nil {
		return fmt.Errorf("print config: %w", err)
	}
	var b strings.Builder
	printParamNotes(&b, c.ParamNotes())
	_, err := io.WriteString(w, b.String())
	return err
}

// Summary is a one-line description of a valid config, e.g.
//
//	ok: gateway gw-330502103-yuncun-01, 2 buses, 5 devices (3 profiles), 23 rules, broker tls://mqtt.township.example:8883
//
// The rule count is the sum of every device's effective rules that run;
// rules left out for want of a device parameter are counted after the
// broker ("; 2 rules left out for want of a device parameter (see --print)").
func (c *Config) Summary() string {
	profiles := map[string]bool{}
	for _, d := range c.Devices {
		profiles[d.Profile] = true
	}
	rules, leftOut := "rules unresolved", ""
	if c.profiles != nil {
		if sets, err := c.DeviceRules(c.profiles); err == nil {
			n, off := 0, 0
			for _, s := range sets {
				n += len(s.Specs)
			}
			for _, note := range c.ParamNotes() {
				if !note.Compiled {
					n, off = n-1, off+1
				}
			}
			rules = fmt.Sprintf("%d %s", n, plural(n, "rule"))
			if off > 0 {
				leftOut = fmt.Sprintf("; %d %s left out for want of a device parameter (see --print)", off, plural(off, "rule"))
			}
		}
	}
	return fmt.Sprintf("ok: gateway %s, %d %s, %d %s (%d %s), %s, broker %s%s",
		c.Gateway.ID, len(c.Buses), plural(len(c.Buses), "bus"),
		len(c.Devices), plural(len(c.Devices), "device"), len(profiles), plural(len(profiles), "profile"),
		rules, c.Uplink.MQTT.Broker, leftOut)
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

// PrintPlans writes, per device, the Modbus reads its polls make and how
// often each is read (`config check --print`).
func (c *Config) PrintPlans(w io.Writer) error {
	fmt.Fprintln(w, "# request plan per device (each read with its interval)")
	for _, d := range c.Devices {
		p, ok := c.Profiles().Get(d.Profile)
		if !ok {
			return fmt.Errorf("device %q: profile %q not found", d.ID, d.Profile)
		}
		plan, err := profile.Compile(p, d.PlanOptions())
		if err != nil {
			return fmt.Errorf("device %q: %w", d.ID, err)
		}
		n := len(plan.Requests)
		fmt.Fprintf(w, "%s (bus %s, slave %d, profile %s): %d %s\n", d.ID, d.Bus, d.Slave, d.Profile, n, plural(n, "request"))
		for i, r := range plan.Requests {
			fmt.Fprintf(w, "  %-12s every %s\n", r, profile.ShortDuration(plan.Interval(i)))
		}
	}
	return nil
}
