package backoff

import (
	"testing"
	"time"
)

func TestJitteredAndBounded(t *testing.T) {
	b := Backoff{Min: time.Second, Max: 60 * time.Second}
	ceil := time.Second
	for range 12 {
		d := b.Next()
		if d < ceil/2 || d > ceil {
			t.Fatalf("wait %v outside [%v, %v]", d, ceil/2, ceil)
		}
		ceil = min(ceil*2, 60*time.Second)
	}
	b.Reset()
	if d := b.Next(); d > time.Second {
		t.Fatalf("after reset wait %v > 1s", d)
	}
	// Max below Min: Min holds.
	b = Backoff{Min: time.Second, Max: time.Millisecond}
	for range 3 {
		if d := b.Next(); d < time.Second/2 || d > time.Second {
			t.Fatalf("Max < Min: wait %v", d)
		}
	}
}
