package engine

import (
	"context"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// R25 per uplink. The MQTT link's R25 is rule "R25" on the point
// transmission_fault, as it always was. Every other uplink has an R25 of
// its own on the gateway pseudo-device: rule "R25-<uplink>" on the point
// "transmission_fault_<uplink>" (so R25-gb26875, transmission_fault_gb26875
// for the centre link), same hazard (uplink_transmission_fault), level and
// coding. One episode per uplink: an outage of the centre opens and
// clears its own ticket, which reaches the township live over MQTT, and
// never hides or prolongs an MQTT outage's (docs/tickets.md §3.1).

// Uplink is what R25 reads of an uplink other than the MQTT link: its
// verdict and its own view of the outbox (its backlog).
type Uplink interface {
	Name() string
	TransmissionFault() bool
	Outbox() outbox.Outbox
}

// UplinkRule and UplinkPoint are R25's rule id and point for an uplink
// other than the MQTT link.
func UplinkRule(uplink string) string  { return rules.TransmissionRule + "-" + uplink }
func UplinkPoint(uplink string) string { return rules.TransmissionFaultPoint + "_" + uplink }

// uplinkRules adds R25 of each uplink besides MQTT that cfg configures to
// the gateway pseudo-device's rules.
func uplinkRules(gw rules.DeviceRules, cfg *config.Config) rules.DeviceRules {
	if cfg.Uplink.GB26875 == nil {
		return gw
	}
	var base rules.Spec
	for _, s := range gw.Specs {
		if s.ID == rules.TransmissionRule {
			base = s
		}
	}
	const name = "gb26875"
	one := 1.0
	spec := base
	spec.ID = UplinkRule(name)
	spec.When = []rules.BitCond{{Point: UplinkPoint(name), Equals: &one}}
	gw.Specs = append(gw.Specs, spec)
	gw.Points[UplinkPoint(name)] = ""
	return gw
}

// uplinkFault is the R25 state of one uplink besides MQTT: like the MQTT
// link's (gateway.go), the backlog is read from the first raised verdict
// until the first drained poll.
type uplinkFault struct {
	u        Uplink
	draining bool
}

// uplinkReadings are the R25 readings of the uplinks besides MQTT: 1 while
// raised, 0 once not raised and its ticket backlog is drained, none (no
// decision) while it drains or its view cannot be read.
func (l *Loop) uplinkReadings(ctx context.Context) []rules.Reading {
	var out []rules.Reading
	for _, f := range l.uplinkFaults {
		point := UplinkPoint(f.u.Name())
		if f.u.TransmissionFault() {
			f.draining = true
			out = append(out, rules.Reading{Point: point, Value: 1})
			continue
		}
		if f.draining {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			st, err := f.u.Outbox().Stats(ctx)
			cancel()
			if err != nil || !st.OldestUnsentTicket.IsZero() {
				continue
			}
			f.draining = false
		}
		out = append(out, rules.Reading{Point: point, Value: 0})
	}
	return out
}

// mqttBacklog is the MQTT link's view of the outbox (its R25 backlog):
// Options.MQTTOutbox, or the guard.
func (l *Loop) mqttBacklog() outbox.Outbox {
	if l.opts.MQTTOutbox != nil {
		return l.opts.MQTTOutbox
	}
	return l.guard
}

func newUplinkFaults(us []Uplink) []*uplinkFault {
	out := make([]*uplinkFault, len(us))
	for i, u := range us {
		out[i] = &uplinkFault{u: u, draining: true}
	}
	return out
}
