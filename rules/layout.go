package rules

import (
	"slices"
	"strings"
)

// layout is the slot order of the points of DeviceRules.Points: names
// sorted, their units, and the index from name to slot. It is immutable
// once built, so the devices of one profile (same points, same units)
// share one: on a site of 1 000 meters of 100 points, one index instead
// of 1 000.
type layout struct {
	index map[string]int
	names []string
	units []string
}

// newLayout builds the layout of points (nil: an empty one).
func newLayout(points map[string]string) *layout {
	l := &layout{index: make(map[string]int, len(points)), names: make([]string, 0, len(points))}
	for n := range points {
		l.names = append(l.names, n)
	}
	slices.Sort(l.names)
	l.units = make([]string, len(l.names))
	for i, n := range l.names {
		l.index[n], l.units[i] = i, points[n]
	}
	return l
}

// layouts hands out one layout per distinct set of points and units,
// while an engine is built.
type layouts map[string]*layout

// of returns the layout of points, building it the first time.
func (ls layouts) of(points map[string]string) *layout {
	names := make([]string, 0, len(points))
	for n := range points {
		names = append(names, n)
	}
	slices.Sort(names)
	var key strings.Builder
	for _, n := range names {
		key.WriteString(n)
		key.WriteByte(0)
		key.WriteString(points[n])
		key.WriteByte(0)
	}
	k := key.String()
	if l, ok := ls[k]; ok {
		return l
	}
	l := newLayout(points)
	ls[k] = l
	return l
}
