package sanitize

import (
	"net/url"
	"strings"
)

// URL returns raw with its password replaced by "xxxxx", for a log, a
// problem message or a status display (url.URL.Redacted). A URL that does
// not parse may still carry credentials: then everything between "://"
// and the last "@" is replaced, so "tcp://u:pw@bad host:1883" shows as
// "tcp://xxxxx@bad host:1883". The result is not made terminal-safe: pass
// it through [Line] where it came from the network.
func URL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		if u.User == nil {
			return raw
		}
		return u.Redacted()
	}
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return raw
	}
	return raw[:len(raw)-len(rest)] + "xxxxx" + rest[at:]
}
