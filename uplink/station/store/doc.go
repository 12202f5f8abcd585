// Package store keeps what a township station receives: every ticket event
// (unique by event_id), per-gateway seq tracking with open gaps, one work
// order per ticket_id with its lifecycle steps, the gateways' last status,
// and the service's accounts.
//
// The contract is the [Store] interface, with two backends that run the
// same rules (written once over database/sql, sqldb.go): [OpenSQLite] (one
// file, WAL, synchronous=FULL; one desk) and [OpenPostgres] (several
// instances sharing one database; row locks, see [Postgres]); [Open] picks
// one from a --db value. Every write is one transaction, and idempotency
// comes from unique keys (event_id, (gateway, seq), ticket_id), never from
// the caller. Both pass the conformance suite storetest.Run.
//
// Durability: when Ingest returns nil, every message of the batch is
// committed and survives a crash; the caller acknowledges the messages to
// the broker only then.
package store
