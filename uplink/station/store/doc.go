// Package store keeps what a township station receives: every ticket event
// (unique by event_id), per-gateway seq tracking with open gaps, one work
// order per ticket_id with its lifecycle steps, the gateways' last status,
// and the service's accounts.
//
// The contract is the [Store] interface; [OpenSQLite] is its SQLite
// backend (one file, WAL, synchronous=FULL). A PostgreSQL backend would
// implement the same interface: every write is one transaction, and
// idempotency comes from unique keys (event_id, (gateway, seq),
// ticket_id), never from the caller.
//
// Durability: when Ingest returns nil, every message of the batch is
// committed and survives a crash; the caller acknowledges the messages to
// the broker only then.
package store
