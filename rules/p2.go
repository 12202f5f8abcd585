package rules

// p2 estimates the median of a stream in constant memory: the P² algorithm
// of Jain and Chlamtac (CACM 28(10), 1985) with p = 0.5. Five markers
// track the minimum, the quartiles' neighbourhood, the median and the
// maximum; each sample moves them with a piecewise-parabolic step, O(1)
// in time and 5×3 floats in memory, whatever the number of samples.
//
// Why P² and not a histogram: a night window of 1 s samples has 10,800 of
// them, and the unit and range of the point are the profile's (mA on one
// device, ×0.1 mA on another, up to thousands when a fault develops). A
// histogram fine enough for a 1 mA median over a 0–2000 mA range needs
// kilobytes per point and still clips outliers; P² needs 128 bytes, needs
// no range, and on a slowly varying night current its estimate is within
// a fraction of the noise of the exact median (TestP2Median). The first
// five samples are kept exactly, so a short night gives the exact median.
type p2 struct {
	q  [5]float64 // marker heights
	n  [5]float64 // marker positions (0-based)
	np [5]float64 // desired positions
	k  int        // samples seen
}

// p2dn is how far the desired positions move per sample, for p = 0.5.
var p2dn = [5]float64{0, 0.25, 0.5, 0.75, 1}

func (e *p2) reset() { *e = p2{} }

// add feeds one sample.
func (e *p2) add(x float64) {
	if e.k < 5 {
		// insertion sort of the first five samples
		i := e.k
		for i > 0 && e.q[i-1] > x {
			e.q[i] = e.q[i-1]
			i--
		}
		e.q[i] = x
		e.k++
		if e.k == 5 {
			e.n = [5]float64{0, 1, 2, 3, 4}
			e.np = [5]float64{0, 1, 2, 3, 4}
		}
		return
	}
	e.k++
	var c int // the cell of x: q[c] <= x < q[c+1]
	switch {
	case x < e.q[0]:
		e.q[0], c = x, 0
	case x >= e.q[4]:
		e.q[4], c = x, 3
	default:
		for c = 0; c < 3 && x >= e.q[c+1]; c++ {
		}
	}
	for i := c + 1; i < 5; i++ {
		e.n[i]++
	}
	for i := range e.np {
		e.np[i] += p2dn[i]
	}
	for i := 1; i <= 3; i++ {
		e.adjust(i)
	}
}

// adjust moves marker i one position towards its desired position when it
// is at least one off and its neighbours leave room.
func (e *p2) adjust(i int) {
	d := e.np[i] - e.n[i]
	if !(d >= 1 && e.n[i+1]-e.n[i] > 1) && !(d <= -1 && e.n[i-1]-e.n[i] < -1) {
		return
	}
	s := 1.0
	if d < 0 {
		s = -1
	}
	q := e.parabolic(i, s)
	if !(e.q[i-1] < q && q < e.q[i+1]) {
		j := i + int(s)
		q = e.q[i] + s*(e.q[j]-e.q[i])/(e.n[j]-e.n[i])
	}
	e.q[i] = q
	e.n[i] += s
}

// parabolic is the P² piecewise-parabolic prediction of marker i moved by s.
func (e *p2) parabolic(i int, s float64) float64 {
	q, n := &e.q, &e.n
	return q[i] + s/(n[i+1]-n[i-1])*((n[i]-n[i-1]+s)*(q[i+1]-q[i])/(n[i+1]-n[i])+
		(n[i+1]-n[i]-s)*(q[i]-q[i-1])/(n[i]-n[i-1]))
}

// median returns the estimate; exact for up to five samples. ok is false
// before the first sample.
func (e *p2) median() (v float64, ok bool) {
	switch {
	case e.k == 0:
		return 0, false
	case e.k >= 5:
		return e.q[2], true
	case e.k%2 == 1:
		return e.q[e.k/2], true
	}
	return (e.q[e.k/2-1] + e.q[e.k/2]) / 2, true
}
