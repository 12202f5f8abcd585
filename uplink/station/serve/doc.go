// Package serve is the township station service (`fenghuo station serve`,
// DESIGN §11): it subscribes to the ticket, status and telemetry feed with a
// persistent session, commits every message to a [store.Store] before it
// acknowledges it to the broker, raises the watchdog's own orders, and
// serves a JSON HTTP API for the work-order lifecycle.
//
// The web console, the webhook and the PostgreSQL backend are not built
// yet (docs/station.md).
package serve
