package serve

import (
	"sync"
	"time"
)

// Limits on failed sign-ins: after maxUserFails wrong passwords for one
// account, or maxIPFails from one address, within failWindow, sign-in for
// it answers 429 until the window ends. Each table keeps at most
// maxTracked keys; when full, the entry with the oldest window goes.
const (
	maxUserFails = 5
	maxIPFails   = 20
	failWindow   = 15 * time.Minute
	maxTracked   = 4096
)

// failTable counts failures per key in a fixed window.
type failTable struct {
	max  int
	keys map[string]*failCount
}

type failCount struct {
	n     int
	start time.Time
}

func (t *failTable) blocked(key string, now time.Time) (time.Duration, bool) {
	c, ok := t.keys[key]
	if !ok || now.Sub(c.start) >= failWindow {
		return 0, false
	}
	return failWindow - now.Sub(c.start), c.n >= t.max
}

func (t *failTable) fail(key string, now time.Time) {
	c, ok := t.keys[key]
	if ok && now.Sub(c.start) < failWindow {
		c.n++
		return
	}
	if !ok && len(t.keys) >= maxTracked {
		t.evict(now)
	}
	t.keys[key] = &failCount{n: 1, start: now}
}

// evict drops the expired entries, or else the oldest one.
func (t *failTable) evict(now time.Time) {
	var oldest string
	var at time.Time
	for k, c := range t.keys {
		if now.Sub(c.start) >= failWindow {
			delete(t.keys, k)
			continue
		}
		if oldest == "" || c.start.Before(at) {
			oldest, at = k, c.start
		}
	}
	if len(t.keys) >= maxTracked {
		delete(t.keys, oldest)
	}
}

// limiter bounds repeated failed sign-ins per account and per address.
type limiter struct {
	mu         sync.Mutex
	users, ips failTable
}

func newLimiter() *limiter {
	return &limiter{users: failTable{max: maxUserFails, keys: map[string]*failCount{}},
		ips: failTable{max: maxIPFails, keys: map[string]*failCount{}}}
}

// allow reports whether user may try from ip now, and if not, how long
// until it may.
func (l *limiter) allow(user, ip string, now time.Time) (time.Duration, bool) {
	user = limitKey(user)
	l.mu.Lock()
	defer l.mu.Unlock()
	if wait, b := l.users.blocked(user, now); b {
		return wait, false
	}
	if wait, b := l.ips.blocked(ip, now); b {
		return wait, false
	}
	return 0, true
}

func (l *limiter) failed(user, ip string, now time.Time) {
	user = limitKey(user)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.users.fail(user, now)
	l.ips.fail(ip, now)
}

// succeeded forgets the account's failures (the address's stay counted).
func (l *limiter) succeeded(user string) {
	user = limitKey(user)
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.users.keys, user)
}

func (l *limiter) size() (users, ips int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.users.keys), len(l.ips.keys)
}

// limitKey bounds the memory of one key: a user name longer than any
// account's is cut (it cannot sign in anyway).
func limitKey(user string) string {
	if len(user) > 4*256 {
		return user[:4*256]
	}
	return user
}
