package ticket

import (
	"encoding/json"
	"fmt"
)

// TelemetrySchema is the value of the schema field of every telemetry
// message.
const TelemetrySchema = "fenghuo.telemetry.v1"

// Telemetry reasons.
const (
	TelemetryInterval = "interval" // the periodic snapshot of every device
	TelemetryChange   = "change"   // report by exception: a value left its deadband
)

// Telemetry qualities: good is a value the device reported; absent an
// unwired channel (value null); bad a value that cannot be trusted (value
// null); stale the last good value of a device that has not answered
// since (offline, or the point not read for three of its intervals).
const (
	QualityGood   = "good"
	QualityAbsent = "absent"
	QualityBad    = "bad"
	QualityStale  = "stale"
)

// MaxTelemetryDevices bounds one telemetry message: a site with more
// devices sends its snapshot as several messages.
const MaxTelemetryDevices = 32

// Telemetry is one fenghuo.telemetry.v1 message on P/T/G/telemetry
// (QoS 1, not retained): the analog values of some or all devices. It has
// no seq and no ticket: it is the lowest priority of the outbox, evicted
// first, and never delays a ticket (DESIGN §5, §6).
type Telemetry struct {
	Schema  string            `json:"schema"`
	Gateway TelemetryGateway  `json:"gateway"`
	At      string            `json:"at"`     // when the snapshot was taken
	Reason  string            `json:"reason"` // interval | change
	Devices []TelemetryDevice `json:"devices"`
}

// TelemetryGateway names the gateway the values come from.
type TelemetryGateway struct {
	ID string `json:"id"`
}

// TelemetryDevice is one device's values.
type TelemetryDevice struct {
	ID     string           `json:"id"`
	Online bool             `json:"online"`
	Values []TelemetryValue `json:"values"`
}

// TelemetryValue is one point. Value is null unless Quality is good or
// stale.
type TelemetryValue struct {
	Point   string   `json:"point"`
	Value   *float64 `json:"value"`
	Unit    string   `json:"unit,omitempty"`
	Quality string   `json:"quality"`
	// At is when the value was read.
	At string `json:"at"`
}

// Marshal encodes the message as compact UTF-8 JSON.
func (t Telemetry) Marshal() ([]byte, error) {
	if len(t.Devices) > MaxTelemetryDevices {
		return nil, fmt.Errorf("telemetry: %d devices in one message, at most %d", len(t.Devices), MaxTelemetryDevices)
	}
	return marshal(t)
}

// ParseTelemetry decodes a telemetry message and checks its schema.
func ParseTelemetry(payload []byte) (Telemetry, error) {
	var t Telemetry
	if err := json.Unmarshal(payload, &t); err != nil {
		return t, fmt.Errorf("telemetry: %w", err)
	}
	if t.Schema != TelemetrySchema {
		return t, fmt.Errorf("telemetry: schema %q, want %q", t.Schema, TelemetrySchema)
	}
	return t, nil
}
