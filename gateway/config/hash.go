package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
)

// Hash identifies the resolved config: the first 16 hex digits of the
// SHA-256 of what Print writes (defaults and overrides applied, secrets
// redacted, so the hash reveals nothing of them). The status heartbeat
// and the health report carry it, so a platform can tell which config a
// gateway runs.
func (c *Config) Hash() string {
	var b bytes.Buffer
	if err := c.Print(&b); err != nil {
		return ""
	}
	sum := sha256.Sum256(b.Bytes())
	return hex.EncodeToString(sum[:8])
}
