// Package sched runs the polling of one bus: a single owner goroutine per
// line (one Modbus master per RS-485 line, DESIGN.md §1) that sweeps each
// device at its own interval and hands every outcome — good readings or a
// failure — to the rule engine as a rules.Poll.
//
// A device's reads come in groups of one interval each (drivers/profile
// plans: status words every second, analog values every fifth turn…); a
// turn of the device reads the groups due on it, so a Poll carries only
// their points. Timing policy is per device, not per group: one attempt
// per turn, retries only of timeouts and broken frames, one backoff.
//
// Health keeps a device's read counters and its online state with
// hysteresis (OfflineAfter failed polls in a row, exception replies
// included; the first good poll).
//
// It is the only place where drivers' samples become rules' readings
// (ToReadings), so neither package knows the other.
package sched
