package config

import (
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
)

// Size limits of config values. A config string rides in every ticket
// (site name, address, device names and locations), in every log line and
// on the crew's screen: a 10 MB site name would be accepted and sent with
// each alarm. Every string the decoder reads is checked against the limit
// of its key, and the file itself is bounded.
const (
	// MaxStringBytes bounds names, ids, labels, addresses and codes: 256
	// bytes, 85 汉字 in UTF-8.
	MaxStringBytes = 256
	// MaxPathBytes bounds file paths (PATH_MAX).
	MaxPathBytes = 4096
	// MaxURLBytes bounds uplink.mqtt.broker.
	MaxURLBytes = 2048
	// MaxSecretBytes bounds uplink.mqtt.password.
	MaxSecretBytes = 1024
	// MaxSocketBytes is the longest unix socket path Linux can bind
	// (sun_path holds 108 bytes with the terminating NUL).
	MaxSocketBytes = 107
	// MaxFileBytes bounds the config file and password_file.
	MaxFileBytes = 4 << 20
)

// pathKeys are the keys (last segment) whose value is a file path.
var pathKeys = map[string]bool{"path": true, "socket": true, "profiles_dir": true, "port": true}

// stringLimit is the size limit of the string at key path.
func stringLimit(path string) int {
	key := path[strings.LastIndexByte(path, '.')+1:]
	if i := strings.IndexByte(key, '['); i >= 0 {
		key = key[:i] // a list element: the list's key
	}
	switch {
	case pathKeys[key] || strings.HasSuffix(key, "_file"):
		return MaxPathBytes
	case key == "broker":
		return MaxURLBytes
	case key == "password":
		return MaxSecretBytes
	}
	return MaxStringBytes
}

// checkSize records a string over its key's limit; the value is not
// quoted (it may be megabytes, or a secret).
func (p *problems) checkSize(path, s string) bool {
	if limit := stringLimit(path); len(s) > limit {
		p.decodeErr(path, "is %d bytes long; at most %d", len(s), limit)
		return false
	}
	return true
}

// checkMapValues checks the strings and numbers inside a free-form
// mapping (a device's params): sizes as any string, numbers finite.
func (p *problems) checkMapValues(path string, v any) {
	switch x := v.(type) {
	case string:
		p.checkSize(path, x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			p.decodeErr(path, "%v is not a finite number", x)
		}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if len(k) > MaxStringBytes {
				p.decodeErr(path, "has a key %d bytes long; at most %d", len(k), MaxStringBytes)
				continue
			}
			p.checkMapValues(join(path, k), x[k])
		}
	case []any:
		for i, e := range x {
			p.checkMapValues(fmt.Sprintf("%s[%d]", path, i), e)
		}
	}
}

// readBounded reads a file of at most MaxFileBytes.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("%s is larger than %d MiB: not a fenghuo config", path, MaxFileBytes>>20)
	}
	return b, nil
}
