package ticket

import "strings"

// DefaultPrefix is the default topic prefix.
const DefaultPrefix = "fenghuo/v1"

// Topics builds the topics of one gateway: Prefix/Township/Gateway/…
// (DESIGN §5). Township or Gateway may be the wildcard "+" for
// subscriptions.
type Topics struct {
	Prefix   string // "fenghuo/v1"; empty means DefaultPrefix
	Township string // 9-digit township code
	Gateway  string // gateway id
}

// Tickets is P/T/G/tickets (QoS 1, not retained).
func (t Topics) Tickets() string { return t.join("tickets") }

// Status is P/T/G/status (QoS 1, retained; the last will).
func (t Topics) Status() string { return t.join("status") }

// Telemetry is P/T/G/telemetry.
func (t Topics) Telemetry() string { return t.join("telemetry") }

// Cmd is P/T/G/cmd, the downlink.
func (t Topics) Cmd() string { return t.join("cmd") }

// Reply is P/T/G/reply, replies to cmd.
func (t Topics) Reply() string { return t.join("reply") }

// Probe is P/T/G/probe, where `fenghuo diag uplink` publishes its QoS 1
// round trip.
func (t Topics) Probe() string { return t.join("probe") }

func (t Topics) join(leaf string) string {
	p := strings.TrimSuffix(t.Prefix, "/")
	if p == "" {
		p = DefaultPrefix
	}
	return p + "/" + t.Township + "/" + t.Gateway + "/" + leaf
}
