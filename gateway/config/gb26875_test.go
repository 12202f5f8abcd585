package config

import (
	"strings"
	"testing"
	"time"
)

const gbMinimal = `
gateway:
  id: gw-330502103-test-01
  site: {name: 云村文化礼堂, township_code: "330502103"}
buses: [{name: lan, type: tcp, address: "127.0.0.1:502"}, {name: rs485-1, type: rtu, port: /dev/ttyS1}]
devices: [{id: smoke-1, name: 烟感, bus: rs485-1, slave: 1, profile: smoke-detector}]
uplink:
  mqtt: {broker: "tls://mqtt.township.example:8883"}
`

// Absent is off; present takes the defaults of DESIGN.md §3 for every key
// left out, and the bus order gives the zones.
func TestGB26875Defaults(t *testing.T) {
	if c := mustParse(t, gbMinimal); c.Uplink.GB26875 != nil {
		t.Fatalf("uplink.gb26875 on without the key: %+v", c.Uplink.GB26875)
	}
	c := mustParse(t, gbMinimal+"  gb26875: {centre: \"10.20.30.40:9000\", address: 330502103001}\n")
	g := c.Uplink.GB26875
	want := GB26875{Centre: "10.20.30.40:9000", Address: 330502103001, ConfirmTimeout: 10 * time.Second,
		Retries: 3, Heartbeat: 30 * time.Second, TimeZone: "+08:00"}
	if g == nil || *g != want {
		t.Fatalf("got %+v, want %+v", g, want)
	}
	if z := c.BusZones(); z["lan"] != 1 || z["rs485-1"] != 2 {
		t.Errorf("zones %v", z)
	}
	c = mustParse(t, gbMinimal+"  gb26875: {centre: \"centre.example:9000\", address: 0, centre_address: 281474976710655, retries: 1, time_zone: \"-03:30\"}\n")
	if g := c.Uplink.GB26875; g.Address != 0 || g.CentreAddress != MaxGB26875Address || g.Retries != 1 || g.TimeZone != "-03:30" {
		t.Errorf("explicit values lost: %+v", g)
	}
}

func TestGB26875AddressRequired(t *testing.T) {
	_, err := Parse([]byte(gbMinimal + "  gb26875: {centre: \"10.20.30.40:9000\"}\n"))
	if got := problemText(err); !strings.Contains(got, "uplink.gb26875.address: is required") {
		t.Fatalf("problems:\n%s", got)
	}
}

// A FENGHUO_UPLINK_GB26875_ variable overrides a key of the section, and
// turns the section on when the file leaves it out.
func TestGB26875Env(t *testing.T) {
	t.Setenv("FENGHUO_UPLINK_GB26875_CENTRE", "10.0.0.9:9000")
	t.Setenv("FENGHUO_UPLINK_GB26875_ADDRESS", "42")
	t.Setenv("FENGHUO_UPLINK_GB26875_CONFIRM_TIMEOUT", "5s")
	c := mustParse(t, gbMinimal)
	if g := c.Uplink.GB26875; g == nil || g.Centre != "10.0.0.9:9000" || g.Address != 42 || g.ConfirmTimeout != 5*time.Second || g.Retries != 3 {
		t.Fatalf("%+v", g)
	}
}
