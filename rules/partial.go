package rules

// valueRead reports whether the current poll read one of r's value points
// (good or absent). A poll may carry only some of a device's points: the
// gateway reads status words every second and analog values every fifth
// second (drivers/profile read groups), so a poll with the status word and
// no value says nothing about the rule's value escalation steps, even when
// its bit conditions hold, and must not restart their runs. A rule without
// value points always counts as read.
func (d *device) valueRead(r *rule) bool {
	if len(r.points) == 0 {
		return true
	}
	for _, p := range r.points {
		if _, st := d.now(p); st != missing {
			return true
		}
	}
	return false
}
