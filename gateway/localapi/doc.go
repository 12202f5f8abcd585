// Package localapi answers the local API (gateway/api's Handlers) and
// builds the gateway's status message from snapshots: of the rule loop
// (gateway/engine: open hazards, rule states, devices and their polls,
// storage faults), of the outbox (depth, queue, history, acks) and of the
// uplink (connected, last publish, clock offset), and the Prometheus
// metrics served on /metrics (counters fed by the bus owners and the rule
// loop, gauges read at scrape time). Views hold no state of their own;
// every answer is a fresh read. Control and test alarms commit their
// records through the rule loop's Append, like every other event.
package localapi
