package config

import (
	"strings"
	"testing"
)

// A broker URL with credentials that does not parse must not echo the
// password in the problem message.
func TestBrokerProblemNeverEchoesPassword(t *testing.T) {
	for _, broker := range []string{"tcp://u:S3CRET@host:x1883", "tcp://u:S3CRET@bad host:1883", "tcp://u:S3CRET@:1883"} {
		p := newProblems()
		checkBroker(p, broker)
		var msgs []string
		for _, e := range p.errs {
			msgs = append(msgs, e.Error())
		}
		all := strings.Join(msgs, "\n")
		if len(msgs) == 0 {
			t.Errorf("%s: no problem reported", broker)
		}
		if strings.Contains(all, "S3CRET") {
			t.Errorf("%s: problem leaks the password: %s", broker, all)
		}
	}
}
