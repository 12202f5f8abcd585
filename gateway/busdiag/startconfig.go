package busdiag

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
)

// This file is `fenghuo config init --from-scan`: a scan's result, kept
// in a file, turned into a starting config.

// ReadScan reads a scan result file (the JSON of `fenghuo diag scan
// --json`) and checks it: every slave id in 1..247, each once.
func ReadScan(path string) (api.ScanResult, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return api.ScanResult{}, err
	}
	var s api.ScanResult
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&s); err != nil {
		return api.ScanResult{}, fmt.Errorf("%s: not the JSON of `fenghuo diag scan --json`: %v", path, err)
	}
	seen := map[int]bool{}
	for i, f := range s.Found {
		if f.Slave < 1 || f.Slave > 247 {
			return api.ScanResult{}, fmt.Errorf("%s: found[%d].slave %d is out of range 1..247", path, i, f.Slave)
		}
		if seen[f.Slave] {
			return api.ScanResult{}, fmt.Errorf("%s: found[%d].slave %d appears twice", path, i, f.Slave)
		}
		seen[f.Slave] = true
	}
	return s, nil
}

// StartingConfig is the commented starting config of o (config.Template)
// as YAML, checked by the rules of `fenghuo config check`, and the number
// of devices it configures. Nil o.Profiles: the shipped profiles.
func StartingConfig(o config.TemplateOptions) ([]byte, int, error) {
	if o.Profiles == nil {
		profiles, err := profile.Load("")
		if err != nil {
			return nil, 0, err
		}
		o.Profiles = profiles
	}
	d, err := config.Template(o)
	if err != nil {
		return nil, 0, err
	}
	text, err := d.YAML()
	if err != nil {
		return nil, 0, err
	}
	if _, err := config.Parse(text); err != nil {
		var msgs []string
		for _, p := range config.Problems(err) {
			msgs = append(msgs, p.Error())
		}
		return nil, 0, fmt.Errorf("the config would not be valid, nothing written: %s", strings.Join(msgs, "; "))
	}
	return text, len(d.Config.Devices), nil
}
