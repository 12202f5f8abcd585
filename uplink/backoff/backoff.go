// Package backoff is the jittered exponential backoff the uplinks share
// (the MQTT link, the GB/T 26875.3 link and the station's webhook): each
// wait is drawn from [d/2, d], and d doubles after every failure from Min
// up to Max. The jitter spreads a fleet that failed together; the halving
// floor keeps the expected wait close to d.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Backoff is one retry sequence. The zero value of cur starts at Min.
type Backoff struct {
	Min, Max time.Duration
	cur      time.Duration
}

// Next returns the next wait and doubles the one after it.
func (b *Backoff) Next() time.Duration {
	if b.cur < b.Min {
		b.cur = b.Min
	}
	d := b.cur
	b.cur = min(b.cur*2, max(b.Max, b.Min))
	half := d / 2
	return half + rand.N(half+1)
}

// Reset starts the sequence again at Min (after a success).
func (b *Backoff) Reset() { b.cur = 0 }
