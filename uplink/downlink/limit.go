package downlink

import (
	"sync"
	"time"
)

// Bucket is a token bucket: Rate tokens a second, at most Burst. The zero
// time starts it full. Not safe for concurrent use on its own.
type Bucket struct {
	Rate   float64
	Burst  int
	tokens float64
	last   time.Time
}

// Allow takes a token at now; false when the bucket is empty.
func (b *Bucket) Allow(now time.Time) bool {
	if b.last.IsZero() {
		b.tokens, b.last = float64(b.Burst), now
	}
	if dt := now.Sub(b.last); dt > 0 {
		b.tokens = min(float64(b.Burst), b.tokens+dt.Seconds()*b.Rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Limiter is a token bucket per command kind (Policy.Rate, Policy.Burst):
// a flood of one kind exhausts only its own bucket. Safe for concurrent
// use.
type Limiter struct {
	mu      sync.Mutex
	buckets map[string]*Bucket
}

// NewLimiter returns a limiter with every bucket full.
func NewLimiter() *Limiter { return &Limiter{buckets: map[string]*Bucket{}} }

// Allow takes a token of cmd's kind at now; false when its bucket is
// empty. Unknown kinds share one bucket.
func (l *Limiter) Allow(cmd string, now time.Time) bool {
	if _, ok := policies[cmd]; !ok {
		cmd = ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[cmd]
	if b == nil {
		pol := PolicyOf(cmd)
		b = &Bucket{Rate: pol.Rate, Burst: pol.Burst}
		l.buckets[cmd] = b
	}
	return b.Allow(now)
}
