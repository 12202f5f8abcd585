// Package link is the GB/T 26875.3-2011 uplink: the gateway as a user
// information transmission device (用户信息传输装置) reporting to a city
// remote fire monitoring centre over TCP (DESIGN.md §10, docs/gb26875.md).
//
// Delivery: records are taken from an [outbox.Outbox] in its Pending order
// (fire class first, GB 26875.1 4.1.2.3; then other tickets; telemetry
// last), one at a time. Each record becomes zero, one or two application
// data units (mapping.go); each is sent as a send-data (2) frame and must be
// confirmed (3) with its serial number echoed. On a deny (6) or when
// Options.ConfirmTimeout passes, the same frame (same bytes, same serial)
// is sent again, up to Options.Retries times; then the connection is
// closed and opened again after a jittered backoff, and the record is sent
// again on the new connection. A record is marked sent only after the
// centre confirmed every frame of it: at-least-once, in the outbox's order.
//
// Each connection starts with the device's software version (type 25).
// Idle link: a transmission-device state (type 21) every Options.Heartbeat.
// Telemetry is not sent on this link (marked done without a frame).
// Centre's commands: initialise (89), clock sync (90, the offset is
// reported, the system clock is never stepped) and duty check (91, 查岗)
// are confirmed; device queries 81, 84, 85, 86, 88 and system queries 61,
// 62, 64, 65, 68 are answered (5); every other request, a query with
// nothing to answer and every bad frame are denied (6). One frame is outstanding at a time; the read side is bounded
// by the codec's 2 × 1054-byte buffer and a read deadline.
//
// The package knows the codec (uplink/gb26875) and the ticket contract
// (uplink/ticket); it never imports gateway: the daemon builds its Options
// (FromSettings takes the config's plain values).
package link
