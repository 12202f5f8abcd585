// Package config loads, defaults and validates a gateway's YAML config
// file (the contract of DESIGN.md §3, documented for installers in
// docs/config.md).
//
//	cfg, err := config.Load("/etc/fenghuo/fenghuo.yaml")
//	if err != nil {
//		// err is an errors.Join of *FieldError, in file order, e.g.
//		//   devices[2].slave: 0 is out of range 1..247
//		//   devices[1].slvae: unknown key (did you mean "slave"?)
//	}
//	sets, err := cfg.DeviceRules(profiles) // effective rules per device
//
// Loading is viper (YAML, FENGHUO_ environment overrides) followed by a
// decoder of its own that walks the raw values against the structs' yaml
// tags, so that every unknown key and every value of the wrong type is
// reported with its key path instead of the first one hiding the rest.
// Validation then checks references (device → bus, device → profile,
// rule → device/profile/point), ranges and the uplink's security, and
// decodes and checks the default rules of every profile.
//
// Load never opens a bus or a network connection. The password is a
// [Secret]: printing, logging or marshalling it shows "REDACTED".
package config
