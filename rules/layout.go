package rules

import (
	"slices"
	"strings"
)

// layout is the slot order of the points of DeviceRules.Points: names
// sorted, their units, and the index from name to slot. The devices of one
// profile (same points, same units) share one: on a site of 1 000 meters
// of 100 points, one index instead of 1 000. Only succ and head change
// after it is built, under the engine's mutex.
type layout struct {
	index map[string]int
	names []string
	units []string
	// succ[i] is the slot of the reading that followed slot i in the last
	// poll loaded, head the slot of a poll's first reading (-1: none yet):
	// polls carry their points in the same order every time, so load finds
	// a reading's slot by one string comparison, not a map lookup.
	succ []int32
	head int32
}

// newLayout builds the layout of points (nil: an empty one).
func newLayout(points map[string]string) *layout {
	l := &layout{index: make(map[string]int, len(points)), names: make([]string, 0, len(points))}
	for n := range points {
		l.names = append(l.names, n)
	}
	slices.Sort(l.names)
	l.units = make([]string, len(l.names))
	l.succ, l.head = make([]int32, len(l.names)), -1
	for i, n := range l.names {
		l.index[n], l.units[i], l.succ[i] = i, points[n], -1
	}
	return l
}

// next returns the slot of the reading name that follows slot prev (-1:
// the first of a poll) in the device's poll, learning the order.
func (d *device) next(prev int, name string) int {
	l := d.lay
	guess := l.head
	if prev >= 0 {
		guess = -1
		if prev < len(l.succ) {
			guess = l.succ[prev]
		}
	}
	if guess >= 0 && l.names[guess] == name {
		return int(guess)
	}
	i := d.slotOf(name)
	if i < len(l.names) {
		switch {
		case prev < 0:
			l.head = int32(i)
		case prev < len(l.succ):
			l.succ[prev] = int32(i)
		}
	}
	return i
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
