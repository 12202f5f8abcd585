// Package sched runs the polling of one bus: a single owner goroutine per
// line (one Modbus master per RS-485 line, DESIGN.md §1) that sweeps each
// device at its own interval and hands every outcome — good readings or a
// failure — to the rule engine as a rules.Poll.
//
// It is the only place where drivers' samples become rules' readings
// (ToReadings), so neither package knows the other.
package sched
