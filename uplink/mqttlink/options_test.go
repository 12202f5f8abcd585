package mqttlink

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

func TestNewReportsEveryMissingOption(t *testing.T) {
	_, err := New(Options{CertFile: "x"})
	for _, want := range []string{"Broker", "TownshipCode", "GatewayID", "Outbox", "KeyFile"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New error %v does not name %s", err, want)
		}
	}
}

func TestPasswordNeverLogged(t *testing.T) {
	var buf bytes.Buffer
	o := Options{Broker: "tcp://127.0.0.1:1", Password: "s3cret-pw", GatewayID: "gw-1", TownshipCode: "330502103", Outbox: outbox.NewMemory()}
	slog.New(slog.NewTextHandler(&buf, nil)).Info("link", "opts", o)
	if strings.Contains(buf.String(), "s3cret-pw") || !strings.Contains(buf.String(), "REDACTED") {
		t.Fatalf("log line: %s", buf.String())
	}
}

func TestBackoffJitteredAndBounded(t *testing.T) {
	b := backoff{min: time.Second, max: 60 * time.Second}
	ceil := time.Second
	for range 12 {
		d := b.next()
		if d < ceil/2 || d > ceil {
			t.Fatalf("wait %v outside [%v, %v]", d, ceil/2, ceil)
		}
		ceil = min(ceil*2, 60*time.Second)
	}
	b.reset()
	if d := b.next(); d > time.Second {
		t.Fatalf("after reset wait %v > 1s", d)
	}
}
