package ticket

import (
	"encoding/json"
	"fmt"
)

// HealthSchema is the value of the schema field of the daily health report.
const HealthSchema = "fenghuo.health.v1"

// Health is the gateway's periodic health report (GB/T 45839 5.6.5,
// 5.7.1: at least every 24 h), published on P/T/G/telemetry beside the
// telemetry messages (a platform dispatches by `schema`): every device's
// answers over the period, battery and signal where the device reports
// them, the storage and the uplink, and the self-test's verdict.
type Health struct {
	Schema     string         `json:"schema"`
	Gateway    HealthGateway  `json:"gateway"`
	At         string         `json:"at"`
	PeriodS    float64        `json:"period_s"` // what the success rates cover
	Version    string         `json:"version"`
	ConfigHash string         `json:"config_hash"`
	Devices    []HealthDevice `json:"devices"`
	Storage    HealthStorage  `json:"storage"`
	Uplink     HealthUplink   `json:"uplink"`
	SelfTest   SelfTest       `json:"self_test"`
}

// HealthGateway names the gateway.
type HealthGateway struct {
	ID string `json:"id"`
}

// HealthDevice is one device over the period.
type HealthDevice struct {
	ID     string `json:"id"`
	Online bool   `json:"online"`
	// LastOKAt is the device's last good answer; empty if it never answered.
	LastOKAt string `json:"last_ok_at,omitempty"`
	Polls    uint64 `json:"polls"`
	PollsOK  uint64 `json:"polls_ok"`
	// SuccessRate is PollsOK / Polls over the period; null without polls.
	SuccessRate *float64 `json:"success_rate"`
	// BatteryPct and Signal are the device's own readings where its
	// profile has them (points battery, signal or rssi).
	BatteryPct *float64 `json:"battery_pct,omitempty"`
	Signal     *float64 `json:"signal,omitempty"`
}

// HealthStorage is the outbox's filesystem and a write+fsync check.
type HealthStorage struct {
	Path       string  `json:"path"`
	FreeBytes  uint64  `json:"free_bytes"`
	TotalBytes uint64  `json:"total_bytes"`
	WriteOK    bool    `json:"write_ok"`
	WriteMS    float64 `json:"write_ms"` // write + fsync of a small file
	Error      string  `json:"error,omitempty"`
}

// HealthUplink is the MQTT link as the gateway sees it.
type HealthUplink struct {
	Connected         bool   `json:"connected"`
	LastPublishAt     string `json:"last_publish_at,omitempty"`
	TransmissionFault bool   `json:"transmission_fault"`
	// RoundTripMS is the last publish → PUBACK time measured; absent
	// before the first.
	RoundTripMS *float64 `json:"round_trip_ms,omitempty"`
}

// SelfTest is the verdict of the periodic self-test (bus, storage,
// uplink), also sent as a `test` ticket event of the gateway.
type SelfTest struct {
	OK      bool `json:"ok"`
	Bus     bool `json:"bus"`     // every bus had a good answer in the period
	Storage bool `json:"storage"` // the write+fsync check passed
	Uplink  bool `json:"uplink"`  // connected, and no transmission fault
}

// Marshal encodes the report as compact UTF-8 JSON.
func (h Health) Marshal() ([]byte, error) { return marshal(h) }

// ParseHealth decodes a health report and checks its schema.
func ParseHealth(payload []byte) (Health, error) {
	var h Health
	if err := json.Unmarshal(payload, &h); err != nil {
		return h, fmt.Errorf("health: %w", err)
	}
	if h.Schema != HealthSchema {
		return h, fmt.Errorf("health: schema %q, want %q", h.Schema, HealthSchema)
	}
	return h, nil
}
