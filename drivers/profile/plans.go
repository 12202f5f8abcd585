package profile

import "sync"

// Plans compiles each (profile, options) pair once and hands out the same
// immutable [Plan] to every device that asks for it: a site of 1 000
// meters of one model holds one plan, not 1 000 (about 27 KiB each for a
// profile of 100 points: a bound decoder per point). The zero value is
// ready to use; it is safe for concurrent use.
//
// The key is the *Profile pointer, so a plan compiled from one loaded
// [Set] is never handed out for a profile of another (a reload loads a
// new set, and a new Plans goes with it).
type Plans struct {
	mu sync.Mutex
	m  map[planKey]planEntry
}

type planKey struct {
	p    *Profile
	opts PlanOptions
}

type planEntry struct {
	plan *Plan
	err  error
}

// Compile returns [Compile](p, opts), compiling it the first time only;
// a compile error is kept and returned again.
func (c *Plans) Compile(p *Profile, opts PlanOptions) (*Plan, error) {
	k := planKey{p, opts}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		return e.plan, e.err
	}
	if c.m == nil {
		c.m = map[planKey]planEntry{}
	}
	plan, err := Compile(p, opts)
	c.m[k] = planEntry{plan, err}
	return plan, err
}

// Len is how many distinct plans were compiled.
func (c *Plans) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
