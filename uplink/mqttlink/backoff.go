package mqttlink

import (
	"math/rand/v2"
	"time"
)

// backoff is jittered exponential backoff between min and max: each wait
// is drawn from [d/2, d] and d doubles after every failure.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur < b.min {
		b.cur = b.min
	}
	d := b.cur
	b.cur = min(b.cur*2, b.max)
	half := d / 2
	return half + rand.N(half+1)
}

func (b *backoff) reset() { b.cur = 0 }
