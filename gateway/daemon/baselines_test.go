package daemon

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// creepSite is testConfig with one simulated electrical-fire detector
// (R9 creep) and no broker.
func creepSite(t *testing.T) (cfgText, baselineFile string) {
	t.Helper()
	profiles, err := profile.Load("")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := profiles.Get("electrical-fire-1p")
	srv := sim.NewServer()
	srv.AddDevice(1, p)
	addr, err := srv.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	db := filepath.Join(t.TempDir(), "outbox.db")
	text := fmt.Sprintf(testConfig, addr, "tcp://127.0.0.1:1", db)
	text = replaceOnce(text, "profile: smoke-485-basic", "profile: electrical-fire-1p")
	text = replaceOnce(text, "id: smoke-1f-kitchen", "id: efd-1f-main")
	return text, db + ".baselines.json"
}

// feedNights steps d's engine through n past nights of residual current
// (every 10 min from 02:00 to 05:00 site time), so R9 has n baselines,
// as if the daemon had run then.
func feedNights(d *Daemon, n int) {
	site := time.FixedZone("CST", 8*3600)
	for night := range n {
		day := time.Date(2026, 11, 1+night, 0, 0, 0, 0, site)
		for at := day.Add(2 * time.Hour); !at.After(day.Add(5 * time.Hour)); at = at.Add(10 * time.Minute) {
			d.loop.Rules().Step(at, []rules.Poll{{Device: "efd-1f-main", At: at, OK: true,
				Readings: []rules.Reading{{Point: "residual_current", Value: 80 + 10*float64(night)}}}})
		}
	}
}

func baselineStrings(bs []rules.Baseline) []string {
	out := make([]string, 0, len(bs))
	for _, b := range bs {
		out = append(out, fmt.Sprintf("%s %s %s %s %g", b.Device, b.Rule, b.Point, b.Night.Format(time.RFC3339), b.Value))
	}
	return out
}

// TestBaselinesSurviveARestart: a running daemon saves R9's baselines
// beside the outbox (within its save interval, without waiting for a
// shutdown), and a daemon started again on the same config has them back
// before its first poll.
func TestBaselinesSurviveARestart(t *testing.T) {
	text, file := creepSite(t)
	d := newDaemon(t, text, Options{baselineEvery: time.Millisecond})
	feedNights(d, 3)
	before := baselineStrings(d.loop.Rules().Baselines())
	if len(before) != 3 {
		t.Fatalf("fed 3 nights, the engine has %d baselines: %v", len(before), before)
	}
	stop := runUntilStopped(t, d)
	var saved struct { // engine's baselines file
		Schema string `json:"schema"`
		Points []struct {
			Device, Rule, Point string
			Values              []float64
		} `json:"points"`
	}
	waitFor(t, 10*time.Second, "the baselines file while the daemon runs", func() bool {
		data, err := os.ReadFile(file)
		return err == nil && json.Unmarshal(data, &saved) == nil && len(saved.Points) == 1 && len(saved.Points[0].Values) == 3
	})
	if p := saved.Points[0]; saved.Schema != "fenghuo.baselines.v1" || p.Device != "efd-1f-main" || p.Rule != "R9" || p.Point != "residual_current" {
		t.Fatalf("baselines file: %+v", saved)
	}
	stop()

	again := newDaemon(t, text, Options{})
	defer again.store.Close()
	if after := baselineStrings(again.loop.Rules().Baselines()); !slices.Equal(after, before) {
		t.Fatalf("after a restart\n got  %v\n want %v", after, before)
	}
}

// TestBadBaselinesFileStillStarts: an unreadable baselines file is logged
// and ignored; the gateway starts and R9 counts nights afresh.
func TestBadBaselinesFileStillStarts(t *testing.T) {
	text, file := creepSite(t)
	if err := os.WriteFile(file, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := newDaemon(t, text, Options{})
	defer d.store.Close()
	if bs := d.loop.Rules().Baselines(); len(bs) != 0 {
		t.Fatalf("baselines from a corrupt file: %v", bs)
	}
}
