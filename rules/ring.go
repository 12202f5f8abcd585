package rules

import "math"

// ring is the recent good samples of one point, for slopes: at most one
// sample per gap (later ones are dropped until the gap has passed), so its
// fixed capacity covers the rule's longest window.
type ring struct {
	t      []int64 // unix nanoseconds
	v      []float64
	head   int // next write
	n      int
	gap    int64
	pushes uint64 // samples stored so far, for the slope caches
}

func newRing(capacity int, gap int64) ring {
	return ring{t: make([]int64, capacity), v: make([]float64, capacity), gap: gap}
}

// push stores v taken at t, unless t is within gap of the newest sample.
func (g *ring) push(t int64, v float64) {
	if g.n > 0 && t-g.t[g.idx(0)] < g.gap {
		return
	}
	g.t[g.head], g.v[g.head] = t, v
	g.head++
	if g.head == len(g.t) {
		g.head = 0
	}
	g.n = min(g.n+1, len(g.t))
	g.pushes++
}

// idx is the slot of the k-th newest sample.
func (g *ring) idx(k int) int {
	i := g.head - 1 - k
	if i < 0 {
		i += len(g.t)
	}
	return i
}

func (g *ring) reset() { g.head, g.n = 0, 0; g.pushes++ }

// fit is a running least-squares fit of v over x.
type fit struct{ n, sx, sv, sxx, sxv float64 }

func (f *fit) add(x, v, w float64) {
	f.n += w
	f.sx += w * x
	f.sv += w * v
	f.sxx += w * x * x
	f.sxv += w * x * v
}

// line returns the slope and the intercept.
func (f *fit) line() (b, a float64) {
	den := f.n*f.sxx - f.sx*f.sx
	if den == 0 {
		return 0, f.sv / f.n
	}
	b = (f.n*f.sxv - f.sx*f.sv) / den
	return b, (f.sv - b*f.sx) / f.n
}

// slopeCache remembers the last slope of one point over one window: it
// changes only when a sample is stored or leaves the window.
type slopeCache struct {
	pushes uint64
	oldest int64 // the oldest sample in the window
	k      int   // samples in the window
	b      float64
	valid  bool
}

// slope is the least-squares slope (per unit of per nanoseconds) of the
// samples newer than at − window, with the sample of the largest residual
// left out. ok is false with fewer than minN samples, or when they span
// less than half the window.
func (g *ring) slope(c *slopeCache, at, window int64, minN int, per float64) (b float64, ok bool) {
	if !c.valid || c.pushes != g.pushes || c.oldest <= at-window {
		g.fit(c, at, window, per)
	}
	if c.k < minN || 2*(at-c.oldest) < window {
		return 0, false
	}
	return c.b, true
}

// fit recomputes c: the samples in the window, and their robust slope.
func (g *ring) fit(c *slopeCache, at, window int64, per float64) {
	var f fit
	inv := 1 / per
	k, i, oldest := 0, g.idx(0), at
	for ; k < g.n && g.t[i] > at-window; k++ {
		oldest = g.t[i]
		f.add(float64(g.t[i]-at)*inv, g.v[i], 1)
		if i--; i < 0 {
			i = len(g.t) - 1
		}
	}
	*c = slopeCache{pushes: g.pushes, oldest: oldest, k: k, valid: true}
	if k < 3 {
		return
	}
	b, a := f.line()
	worst, wx, wv := -1.0, 0.0, 0.0
	i = g.idx(0)
	for range k {
		x := float64(g.t[i]-at) * inv
		if r := math.Abs(g.v[i] - a - b*x); r > worst {
			worst, wx, wv = r, x, g.v[i]
		}
		if i--; i < 0 {
			i = len(g.t) - 1
		}
	}
	f.add(wx, wv, -1)
	c.b, _ = f.line()
}
