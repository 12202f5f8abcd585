// Package engine is the gateway's rule loop: it steps the rule engine
// with every batch of polls, turns the events into ticket records and
// commits them to the outbox (through the outbox guard, which keeps them
// in memory while the store refuses writes), and every second polls the
// gateway pseudo-device (R25, R28, R29), retries what the store has not
// taken, saves the creep baselines and makes the telemetry and health
// records. It owns the rule engine's stepping, the events not yet stored
// and the baselines; the API and the status read snapshots of it.
//
// Concurrency: Run is one goroutine and owns the loop's working state;
// Loop.mu guards the storage verdicts the API reads meanwhile, Devices has
// its own mutex (the bus owners note reads, the loop notes polls), and
// rules.Engine guards itself.
//
// Durability: an event is handed to the uplinks once the outbox committed
// it. If the store refuses (a full disk, an I/O error), the guard keeps the
// events in a bounded memory queue with their seqs, the uplinks publish
// them at once marked "durable": false, and they are stored as soon as the
// store accepts writes; a stop meanwhile writes them to the fallback file
// that the next start imports.
package engine
