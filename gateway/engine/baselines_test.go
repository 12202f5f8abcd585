package engine

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// feedNight steps the engine through one night of residual current
// (every 10 min from 02:00 to 05:00 site time), day days before the
// bubble's epoch (2000-01-01 UTC), so R9 makes that night's baseline.
func feedNight(eng *rules.Engine, day int, value float64) {
	site := time.FixedZone("CST", 8*3600)
	night := time.Date(1999, 12, 1+day, 0, 0, 0, 0, site)
	for at := night.Add(2 * time.Hour); !at.After(night.Add(5 * time.Hour)); at = at.Add(10 * time.Minute) {
		eng.Step(at, []rules.Poll{{Device: "efd-1f-main", At: at, OK: true,
			Readings: []rules.Reading{{Point: "residual_current", Value: value}}}})
	}
}

// savedNights is how many nights the baselines file holds (-1: no file).
func savedNights(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return -1
	}
	var f baselineFile
	if err == nil {
		err = json.Unmarshal(data, &f)
	}
	if err != nil || f.Schema != baselineSchema || len(f.Points) != 1 {
		t.Fatalf("baselines file: %v %+v", err, f)
	}
	return len(f.Points[0].Values)
}

// TestBaselinesSavedOncePerInterval runs the rule loop on the bubble's
// fake clock: the baselines are written at its first tick, a night made
// afterwards waits for the next BaselineEvery (not written 5 minutes
// later, written once the interval has passed), and a stop saves what
// is new at once.
func TestBaselinesSavedOncePerInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		l := newTestLoop(t, dir, memStore{outbox.NewMemory()}, Options{BaselineEvery: 10 * time.Minute})
		path := l.baselinePath()
		feedNight(l.Rules(), 0, 80)
		feedNight(l.Rules(), 1, 85)
		polls, busesDone, done := make(chan rules.Poll), make(chan struct{}), make(chan struct{})
		go func() { l.Run(context.Background(), polls, busesDone); close(done) }()
		stop := sync.OnceFunc(func() { close(busesDone); <-done })
		defer stop()                       // a failed check stops the loop too
		advance := func(d time.Duration) { // the bubble's clock jumps once every goroutine waits
			<-time.After(d)
			synctest.Wait()
		}

		advance(1500 * time.Millisecond)
		if n := savedNights(t, path); n != 2 {
			t.Fatalf("after the first tick the file holds %d nights, want 2", n)
		}
		feedNight(l.Rules(), 2, 90)
		advance(5 * time.Minute)
		if n := savedNights(t, path); n != 2 {
			t.Fatalf("5 min after a save the file holds %d nights, want still 2 (BaselineEvery 10 min)", n)
		}
		advance(5 * time.Minute)
		if n := savedNights(t, path); n != 3 {
			t.Fatalf("10 min after a save the file holds %d nights, want 3", n)
		}

		feedNight(l.Rules(), 3, 95)
		stop()
		if n := savedNights(t, path); n != 4 {
			t.Fatalf("after the stop the file holds %d nights, want 4", n)
		}
	})
}
