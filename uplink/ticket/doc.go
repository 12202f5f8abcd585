// Package ticket holds the wire contract between a fenghuo gateway and the
// township platform: the hazard ticket event (fenghuo.ticket.v1), the
// gateway status (fenghuo.status.v1) and the MQTT topic layout (DESIGN §5,
// docs/tickets.md, docs/ticket.schema.json).
//
// A ticket is built once, when the rule engine emits an event
// ([FromEvent]), marshalled and committed to the outbox. The fields that are
// only known when it is sent — seq, published_at and buffered — are filled
// in at publish time by [Stamp].
//
// The GB/T 45839 coding of an event ([Coding]) follows docs/tickets.md
// §2.1: gbt45839_status is the device's state after the event (the rule
// engine's Event.After), a test is 测试信息 and never 2 报警, a tombstone
// keeps the coding of the event it replaces ([Tombstone]).
//
// Times are RFC 3339 strings with milliseconds and the site's UTC offset
// ("2026-11-29T08:15:02.314+08:00"); see [FormatTime].
package ticket
