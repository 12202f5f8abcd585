package sched

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
)

// TestConfirmationRead: a device asked for a confirmation read between two
// polls is read at once (its every-turn group only), and its regular polls
// keep their times and turns; a device that is not answering is not read
// sooner.
func TestConfirmationRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		r := &groupReader{start: time.Now()}
		dead := &groupReader{start: r.start, dead: func(time.Duration) bool { return true }}
		out := make(chan rules.Poll, 100)
		confirm := make(chan string, 4)
		done := make(chan error)
		go func() {
			done <- Run(ctx, Bus{Confirm: confirm, Devices: []Device{
				{ID: "d", Interval: time.Second, Every: []int{1, 5}, Read: r.read},
				{ID: "dead", Interval: time.Second, Read: dead.read},
			}}, out)
		}()
		time.Sleep(1400 * time.Millisecond) // d read at 0 s and 1 s; dead timed out at 0 s
		confirm <- "d"
		confirm <- "dead"
		confirm <- "nobody"
		time.Sleep(100 * time.Millisecond)
		confirm <- "d" // its regular poll at 2 s is 0.5 s away: read again
		time.Sleep(3600 * time.Millisecond)
		cancel()
		<-done
		close(out)
		var got []string
		for p := range out {
			if p.Device == "d" {
				got = append(got, fmt.Sprintf("%v %v", p.At.Sub(r.start), points(p)))
			}
		}
		want := []string{"0s [g0 g1]", "1s [g0]", "1.4s [g0]", "1.5s [g0]", "2s [g0]", "3s [g0]", "4s [g0]", "5s [g0 g1]"}
		if !slices.Equal(got, want) {
			t.Fatalf("polls of d\n got %q\nwant %q", got, want)
		}
		// Backing off (0 s, then 2 s), never at 1.4 s for the confirmation.
		if want := []time.Duration{0, 2 * time.Second}; !slices.Equal(dead.at, want) {
			t.Errorf("dead device read at %v, want %v (its backoff, not the confirmation)", dead.at, want)
		}
	})
}
