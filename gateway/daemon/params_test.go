package daemon

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// TestConfiguredSetpointsEndToEnd (issue 10, Done when): a simulated
// electrical-fire detector set on site to 500 mA / 90 °C (XLPE), with those
// values in devices[].params, raises no R26 設定值异常 however often its
// setpoints are read back; when someone re-sets the residual setpoint on
// the device to 300 mA, R26 opens after two reads. Before params reached
// the rules, R26 compared with the profile's 300 mA / 70 °C and the first
// phase opened R26.
func TestConfiguredSetpointsEndToEnd(t *testing.T) {
	profiles, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	efd, _ := profiles.Get("electrical-fire-1p")
	srv := sim.NewServer()
	dev := srv.AddDevice(7, efd)
	for point, v := range map[string]float64{"residual_setpoint": 500, "temp_setpoint": 90} {
		if err := dev.Set(point, v); err != nil {
			t.Fatal(err)
		}
	}
	addr, err := srv.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	text := fmt.Sprintf(testConfig, addr, "tcp://127.0.0.1:1", filepath.Join(t.TempDir(), "outbox.db"))
	text = strings.Replace(text, `    slave: 1
    profile: smoke-485-basic
    location: 一楼厨房
    poll: 200ms
`, `    slave: 7
    profile: electrical-fire-1p
    location: 一楼配电间
    poll: 100ms
    params: {residual_setpoint_ma: 500, temp_setpoint_c: 90, rated_current_a: 63}
`, 1)
	var mu sync.Mutex
	var hazards []string
	d, _ := runDaemon(t, text, Options{OnCommitted: func(r outbox.Record) {
		mu.Lock()
		defer mu.Unlock()
		hazards = append(hazards, r.State+" "+r.Hazard)
	}})
	committed := func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(hazards, ", ")
	}
	polls := func() uint64 {
		v, _ := d.loop.Devices().View("smoke-1f-kitchen")
		return v.OK
	}

	// R26 needs 2 reads; every poll reads the setpoints (poll: 100ms).
	waitFor(t, 20*time.Second, "10 good polls", func() bool { return polls() >= 10 })
	if got := committed(); strings.Contains(got, "setpoint_mismatch") {
		t.Fatalf("R26 raised on a device that matches its configured setpoints: %s", got)
	}

	if err := dev.Set("residual_setpoint", 300); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "R26 open", func() bool { return strings.Contains(committed(), "open setpoint_mismatch") })
}
