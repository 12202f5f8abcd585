package serve

import (
	"fmt"
	"testing"
	"time"
)

// TestLimiterBounded: the tables never hold more than maxTracked keys,
// a blocked account is blocked until its window ends, and success clears
// an account's failures.
func TestLimiterBounded(t *testing.T) {
	l := newLimiter()
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	for i := range maxTracked + 100 {
		l.failed(fmt.Sprintf("user-%d", i), fmt.Sprintf("10.0.%d.%d", i/256, i%256), now.Add(time.Duration(i)*time.Millisecond))
	}
	if u, ip := l.size(); u > maxTracked || ip > maxTracked {
		t.Fatalf("tables hold %d users, %d addresses; bound %d", u, ip, maxTracked)
	}
	for range maxUserFails {
		l.failed("duty", "127.0.0.1", now)
	}
	if _, ok := l.allow("duty", "127.0.0.2", now.Add(time.Minute)); ok {
		t.Fatal("an account with 5 failures is allowed")
	}
	if _, ok := l.allow("duty", "127.0.0.2", now.Add(failWindow)); !ok {
		t.Fatal("an account is still blocked after its window")
	}
	l.failed("duty", "127.0.0.3", now)
	l.succeeded("duty")
	if _, ok := l.allow("duty", "127.0.0.3", now); !ok {
		t.Fatal("an account is blocked after a success")
	}
	for range maxIPFails {
		l.failed("someone", "192.0.2.1", now)
		l.succeeded("someone")
	}
	if _, ok := l.allow("anyone", "192.0.2.1", now); ok {
		t.Fatal("an address with 20 failures is allowed")
	}
}

// TestHubBounded: at most maxSubscribers streams; a subscriber that does
// not read is dropped instead of blocking the publisher.
func TestHubBounded(t *testing.T) {
	h := newHub()
	var subs []chan []byte
	for range maxSubscribers {
		ch, ok := h.subscribe()
		if !ok {
			t.Fatal("a subscriber under the bound refused")
		}
		subs = append(subs, ch)
	}
	if _, ok := h.subscribe(); ok {
		t.Fatal("a subscriber over the bound accepted")
	}
	for range subscriberBuf + 1 {
		h.publish(feedEvent{Kind: "ticket"})
	}
	if _, open := <-subs[0]; !open {
		t.Fatal("first queued event missing")
	}
	n := 1
	for range subs[0] {
		n++
	}
	if n != subscriberBuf {
		t.Fatalf("a slow subscriber got %d events then was closed; want %d", n, subscriberBuf)
	}
	if _, ok := h.subscribe(); !ok {
		t.Fatal("room freed by dropped subscribers not reused")
	}
	h.close()
	if _, ok := h.subscribe(); ok {
		t.Fatal("subscribe after close accepted")
	}
}
