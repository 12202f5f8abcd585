package engine

import (
	"context"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
)

// The gateway is a device of its own rule engine: a pseudo-device whose id
// is the gateway id and whose one rule is R25 (uplink transmission fault,
// rules.GatewayRules). The rule loop polls it every second with the link's
// fault verdict and the outbox backlog, so R25 opens, clears and is
// restored after a restart like any device's rule, and its tickets carry
// the gateway as their device (ticket.GatewayDevice).
//
// The pseudo-device's rule R29 (storage_fault, 存储故障, storage.go):
// raised while the outbox has refused writes for storageFaultAfter, or its
// file is gone; its ticket is published from memory like every event of
// the fault.
//
// An R25 ticket is raised while the uplink is failing: it is committed to
// the outbox and reaches the township when the link returns, with
// buffered: true and occurred_at at the onset, followed by its clear once
// the backlog is delivered. The township learns that the gateway was cut
// off, and for how long, even though it could not be told at the time.

// gatewayPoll is the pseudo-device's poll at now: the link's R25 verdict
// and the ticket backlog. R25 clears only once no ticket waits in the
// outbox (telemetry is not waited for); while tickets are still draining,
// or the outbox cannot be read, the poll carries no reading, so R25
// neither opens nor clears. The backlog is read (a count over the unsent
// records: about 20 ms with 50 000 of them) only from the first raised
// verdict until the first drained poll, and from the start (an R25
// restored open) until then; otherwise a link without fault reads as 0.
func (l *Loop) gatewayPoll(ctx context.Context, now time.Time) rules.Poll {
	raised := l.opts.Link.TransmissionFault()
	backlog := 0
	switch {
	case raised:
		l.gatewayDraining = true
	case l.gatewayDraining:
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := l.mqttBacklog().Stats(ctx)
		cancel()
		switch {
		case err != nil:
			backlog = -1 // unknown: no reading, no decision
		case !st.OldestUnsentTicket.IsZero():
			backlog = max(st.Depth, 1)
		default:
			l.gatewayDraining = false
		}
	}
	p := rules.TransmissionPoll(l.Config().Gateway.ID, now, raised, backlog)
	p.Readings = append(p.Readings, l.uplinkReadings(ctx)...) // R25 of the other uplinks (uplinks.go)
	// R28: another client takes the gateway's MQTT client id.
	p.Readings = append(p.Readings, rules.ClientIDConflictReading(l.opts.Link.ClientIDConflict()))
	return rules.WithStorage(p, l.storageFaultRaised(now))
}
