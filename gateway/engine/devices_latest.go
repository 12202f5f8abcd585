package engine

import (
	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/rules"
)

// pointTable is the readable points of one profile, in profile order: the
// names and units a device's latest values refer to, shared by the
// devices of the profile.
type pointTable struct {
	names, units []string
	index        map[string]int
}

// newPointTable is p's table (nil p: an empty one).
func newPointTable(p *profile.Profile) *pointTable {
	t := &pointTable{index: map[string]int{}}
	if p == nil {
		return t
	}
	for i := range p.Points {
		if pt := &p.Points[i]; pt.Readable() {
			t.index[pt.Name] = len(t.names)
			t.names, t.units = append(t.names, pt.Name), append(t.units, pt.Unit)
		}
	}
	return t
}

// latestValues is one device's latest reading of every point, compact: a
// value and a quality per point of its profile's table (9 bytes, not a
// 48-byte rules.Reading), the rare unit that differs from the profile's,
// and the readings of points outside the table as they came.
type latestValues struct {
	tab    *pointTable
	vals   []float64
	qual   []uint8        // rules.Quality + 1; 0: not read yet
	unitOf map[int]string // units readings carried that differ from the table's
	extra  []rules.Reading
}

// merge takes a poll's readings as the latest of their points.
func (l *latestValues) merge(poll []rules.Reading) {
	if l.vals == nil && len(l.tab.names) > 0 {
		l.vals, l.qual = make([]float64, len(l.tab.names)), make([]uint8, len(l.tab.names))
	}
	at := 0
	var outside []rules.Reading
	for _, r := range poll {
		i := at
		if i >= len(l.tab.names) || l.tab.names[i] != r.Point { // polls come in table order: a guess, then the index
			var ok bool
			if i, ok = l.tab.index[r.Point]; !ok {
				outside = append(outside, r)
				continue
			}
		}
		l.vals[i], l.qual[i], at = r.Value, uint8(r.Quality)+1, i+1
		l.noteUnit(i, r.Unit)
	}
	if outside != nil {
		l.extra = mergeReadings(l.extra, outside)
	}
}

// noteUnit keeps the unit of point i's latest reading when it is not the
// profile's.
func (l *latestValues) noteUnit(i int, u string) {
	switch {
	case u == l.tab.units[i]:
		delete(l.unitOf, i)
	default:
		if l.unitOf == nil {
			l.unitOf = map[int]string{}
		}
		l.unitOf[i] = u
	}
}

// readings returns a copy of the latest readings: the table's points read
// so far in profile order, then the others in the order first read.
func (l *latestValues) readings() []rules.Reading {
	n := len(l.extra)
	for _, q := range l.qual {
		if q > 0 {
			n++
		}
	}
	out := make([]rules.Reading, 0, n)
	for i, q := range l.qual {
		if q == 0 {
			continue
		}
		unit, ok := l.unitOf[i]
		if !ok {
			unit = l.tab.units[i]
		}
		out = append(out, rules.Reading{Point: l.tab.names[i], Value: l.vals[i], Unit: unit, Quality: rules.Quality(q - 1)})
	}
	return append(out, l.extra...)
}
