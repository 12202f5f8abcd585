package sanitize

import (
	"strings"
	"testing"
)

func TestURLHidesPassword(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"tls://mqtt.example:8883", "tls://mqtt.example:8883"},
		{"tcp://gw:pw-91@127.0.0.1:1883", "tcp://gw:xxxxx@127.0.0.1:1883"},
		{"tcp://u:S3CRET@bad host:1883", "tcp://xxxxx@bad host:1883"},
		{"tcp://u:S3CRET@host:x1883", "tcp://xxxxx@host:x1883"},
		{"wss://u:p@a@host/mqtt", "wss://u:xxxxx@host/mqtt"},
		{"not a url", "not a url"},
		{"", ""},
	} {
		got := URL(c.in)
		if got != c.want {
			t.Errorf("URL(%q) = %q, want %q", c.in, got, c.want)
		}
		if strings.Contains(got, "S3CRET") || strings.Contains(got, "pw-91") {
			t.Errorf("URL(%q) leaks the password: %q", c.in, got)
		}
	}
}
