package daemon

// confirmQueue is how many confirmation reads a bus's owner may have
// waiting; one more is dropped, which only means the alarm is confirmed
// by the device's regular poll instead.
const confirmQueue = 16

// askConfirmationReads asks the bus owners for a confirmation read of
// every device on which a rule waits on its sample count alone (R1 saw the
// fire-alarm bit once): the second read comes as soon as the line is free
// instead of one poll interval later, so a fire alarm reaches the township
// about one poll interval sooner (rules.Engine.ConfirmNow, sched's
// confirm.go). It never blocks the rule loop.
func (d *Daemon) askConfirmationReads() {
	d.confirmBuf = d.engine.ConfirmNow(d.confirmBuf[:0])
	for _, id := range d.confirmBuf {
		ds := d.devices[id]
		if ds == nil || ds.confirm == nil {
			continue
		}
		select {
		case ds.confirm <- id:
		default:
		}
	}
}
