package diagview

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
)

// TestReloadShowsUplinkMove: a reload that moved the MQTT link says where
// to, with the broker text made plain; one that did not says nothing of it.
func TestReloadShowsUplinkMove(t *testing.T) {
	var b bytes.Buffer
	r := api.Reload{Path: "/etc/fenghuo/fenghuo.yaml", OK: true, ConfigHash: "4afe6d3daf96f264", BusesKept: []string{"lan"},
		UplinkMoved: true, UplinkBroker: "tls://mqtt2.example:8883\x1b[2J"}
	if Reload(&b, r) {
		t.Fatal("an applied reload reported as refused")
	}
	out := b.String()
	assertPlain(t, "diag reload", out)
	if !strings.Contains(out, "uplink              reconnecting to tls://mqtt2.example:8883") {
		t.Fatalf("diag reload after a move:\n%s", out)
	}
	b.Reset()
	r.UplinkMoved, r.UplinkBroker = false, ""
	Reload(&b, r)
	if strings.Contains(b.String(), "reconnecting") {
		t.Fatalf("diag reload without a move mentions one:\n%s", b.String())
	}
}
