package daemon

import "github.com/fenghuo-iot/fenghuo/rules"

// mergeReadings returns the latest reading of every point: a poll carries
// only the points of the read groups due on that turn (a status word every
// second, analog values every fifth…), so `diag devices` keeps each point's
// last value rather than the last poll's. Points keep the order in which
// they were first read (a device's first poll reads every group, in
// profile order). prev is not modified.
func mergeReadings(prev, poll []rules.Reading) []rules.Reading {
	out := append(make([]rules.Reading, 0, max(len(prev), len(poll))), prev...)
	for _, r := range poll {
		found := false
		for i := range out {
			if out[i].Point == r.Point {
				out[i], found = r, true
				break
			}
		}
		if !found {
			out = append(out, r)
		}
	}
	return out
}
