package demo

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// collector keeps the tickets the station received, deduplicated.
type collector struct {
	mu   sync.Mutex
	seen map[string]bool
	dups int
	list []received
	wake chan struct{}
}

type received struct {
	t  ticket.Ticket
	at time.Time
}

func newCollector() *collector {
	return &collector{seen: map[string]bool{}, wake: make(chan struct{}, 1)}
}

func (c *collector) add(t ticket.Ticket) {
	c.mu.Lock()
	if c.seen[t.EventID] {
		c.dups++
	} else {
		c.seen[t.EventID] = true
		c.list = append(c.list, received{t: t, at: time.Now()})
	}
	c.mu.Unlock()
	c.kick()
}

func (c *collector) kick() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *collector) eventIDs() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]bool, len(c.seen))
	for k := range c.seen {
		out[k] = true
	}
	return out
}

func (c *collector) duplicates() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dups
}

// wait returns the first received ticket after `since` matching match.
func (c *collector) wait(ctx context.Context, since time.Time, max time.Duration, match func(ticket.Ticket) bool) (received, error) {
	deadline := time.NewTimer(max)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		for _, r := range c.list {
			if !r.at.Before(since) && match(r.t) {
				c.mu.Unlock()
				return r, nil
			}
		}
		c.mu.Unlock()
		select {
		case <-c.wake:
		case <-time.After(100 * time.Millisecond):
		case <-deadline.C:
			return received{}, fmt.Errorf("no matching ticket within %s", max)
		case <-ctx.Done():
			return received{}, ctx.Err()
		}
	}
}

// count returns how many received tickets match.
func (c *collector) count(match func(ticket.Ticket) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, r := range c.list {
		if match(r.t) {
			n++
		}
	}
	return n
}
