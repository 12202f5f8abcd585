package configs

import _ "embed"

// Demo is configs/demo.yaml: the config `fenghuo demo` runs (its bus and
// broker addresses are replaced by the demo's own loopback listeners).
//
//go:embed demo.yaml
var Demo []byte
