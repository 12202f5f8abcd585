package engine

// askConfirmationReads asks the bus owners (Options.Confirm) for a
// confirmation read of every device on which a rule waits on its sample
// count alone (R1 saw the fire-alarm bit once): the second read comes as
// soon as the line is free instead of one poll interval later, so a fire
// alarm reaches the township about one poll interval sooner
// (rules.Engine.ConfirmNow, sched's confirm.go). It never blocks the loop.
func (l *Loop) askConfirmationReads() {
	l.confirmBuf = l.Rules().ConfirmNow(l.confirmBuf[:0])
	for _, id := range l.confirmBuf {
		l.opts.Confirm(id)
	}
}
