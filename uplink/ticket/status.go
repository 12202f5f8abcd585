package ticket

import "encoding/json"

// StatusSchema is the value of the schema field of every status message.
const StatusSchema = "fenghuo.status.v1"

// Status states.
const (
	StatusOnline  = "online"
	StatusOffline = "offline" // also the MQTT last will
)

// Status is one fenghuo.status.v1 message, published retained on
// P/T/G/status on connect and every heartbeat; the offline form is the
// MQTT last will. Times are [FormatTime] strings.
type Status struct {
	Schema  string `json:"schema"`
	Gateway string `json:"gateway_id"`
	State   string `json:"state"` // online | offline
	Version string `json:"version"`
	// StartedAt is when the gateway process started.
	StartedAt string `json:"started_at"`
	// At is when this message was made; for the last will, when the
	// connection that registered it was opened.
	At               string  `json:"at"`
	DevicesOnline    int     `json:"devices_online"`
	DevicesTotal     int     `json:"devices_total"`
	BufferDepth      int     `json:"buffer_depth"`
	OldestUnsentAgeS float64 `json:"oldest_unsent_age_s"`
	// LastPublishAt is the last PUBACKed ticket; empty before the first.
	LastPublishAt string `json:"last_publish_at,omitempty"`
	// TransmissionFault is R25: a ticket waited 100 s without a PUBACK.
	TransmissionFault bool    `json:"transmission_fault"`
	Dropped           Dropped `json:"dropped"`
	// StorageFault is true while the outbox refuses writes (a full disk,
	// an I/O error, the file deleted): new events are kept in memory and
	// published at once with "durable": false.
	StorageFault bool `json:"storage_fault"`
	// StorageFaultSince is when the current storage fault began.
	StorageFaultSince string `json:"storage_fault_since,omitempty"`
	// NotDurable counts the events kept only in memory.
	NotDurable int `json:"not_durable"`
	// FallbackImported counts the events this process imported at start
	// from the fallback file the last stop wrote (absent: none).
	FallbackImported int `json:"fallback_imported,omitempty"`
	// LastAck is the township's last acknowledgement (downlink ack).
	LastAck *StatusAck `json:"last_ack,omitempty"`
	// BusErrors counts each bus's failed read attempts since the start.
	BusErrors map[string]BusErrors `json:"bus_errors,omitempty"`
	// ConfigHash identifies the running config (config.Config.Hash).
	ConfigHash string `json:"config_hash,omitempty"`
	// ConfigLoadedAt is when the running config was taken into use: the
	// start, or the last reload that changed it (SIGHUP, diag reload).
	ConfigLoadedAt string `json:"config_loaded_at,omitempty"`
	// ClockOffsetMS is the gateway's clock minus the platform's, from the
	// last ping that carried the platform's time; absent before one did.
	ClockOffsetMS *int64 `json:"clock_offset_ms,omitempty"`
}

// BusErrors are one bus's read attempts and how they failed.
type BusErrors struct {
	Requests    uint64 `json:"requests"`
	Timeouts    uint64 `json:"timeouts"`
	FrameErrors uint64 `json:"frame_errors"` // CRC, framing, length
	Exceptions  uint64 `json:"exceptions"`   // Modbus exception replies
	Other       uint64 `json:"other"`
}

// StatusAck is who acknowledged which ticket, and when.
type StatusAck struct {
	TicketID string `json:"ticket_id"`
	By       string `json:"by"`
	At       string `json:"at"`
}

// Dropped counts what the bounded outbox had to drop since it was created.
type Dropped struct {
	Tickets   uint64 `json:"tickets"`
	Telemetry uint64 `json:"telemetry"`
	// Lost counts unsent ticket events that had to be dropped without a
	// tombstone (a storage fault outlasted the memory bound): their seqs
	// stay gaps. Included in Tickets.
	Lost uint64 `json:"lost,omitempty"`
}

// Marshal encodes the status as compact UTF-8 JSON.
func (s Status) Marshal() ([]byte, error) {
	return marshal(s)
}

// ParseStatus decodes a status message.
func ParseStatus(payload []byte) (Status, error) {
	var s Status
	err := json.Unmarshal(payload, &s)
	return s, err
}
