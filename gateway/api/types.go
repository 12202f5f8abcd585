// Package api is fenghuo's local maintenance API: JSON over HTTP on a unix
// socket (local.socket), served by the daemon and read by `fenghuo diag`.
// It uses the standard library only and knows nothing of drivers, rules or
// uplink: the daemon fills these types through [Handlers].
//
// There is no TCP listener: who may read the gateway's state is decided by
// the socket file's mode (0660) and group.
//
// Endpoints (GET and JSON unless said otherwise):
//
//	/v1/status      Status
//	/v1/devices     Devices
//	/v1/alarms      Alarms
//	/v1/queue       Queue   (?limit=N, default 100)
//	/v1/rules       Rules
//	/v1/history     History (?since=T&until=T&ticket=ID&limit=N; history.go)
//	/v1/test-alarm  TestAlarm (POST ?device=D; history.go)
//	/v1/bus/read    ReadResult (?device=D[&point=P] or ?bus=B&slave=S&fc=F&addr=A&count=N; bus.go)
//	/v1/bus/scan    newline-delimited StreamEvent stream (?bus=B&from=F&to=T; bus.go)
//	/v1/bus/trace   newline-delimited StreamEvent stream (?bus=B&seconds=N; bus.go)
//	/v1/uplink/trace newline-delimited StreamEvent stream (?uplink=U&seconds=N; uplinks.go)
//	/v1/reload      Reload (POST: re-read the config file; reload.go)
//
// Limits (limits.go): idle connections are closed, at most MaxConns are
// served at once (more are refused at once with 503), test-alarm is rate
// limited (429) and numbers in a query must be finite.
package api

import "time"

// Status is the gateway at a glance (`fenghuo diag status`).
type Status struct {
	Now       time.Time     `json:"now"`
	Version   string        `json:"version"`
	GatewayID string        `json:"gateway_id"`
	StartedAt time.Time     `json:"started_at"`
	UptimeS   float64       `json:"uptime_s"`
	Uplink    UplinkStatus  `json:"uplink"`
	Buffer    BufferStatus  `json:"buffer"`
	Devices   DevicesStatus `json:"devices"`
	// Uplinks is every uplink, MQTT first (uplinks.go). Uplink and Buffer
	// are as before several uplinks existed: Buffer counts a record unsent
	// until every uplink delivered it.
	Uplinks []UplinkState `json:"uplinks"`
	// Config is the running config and the last reload (reload.go).
	Config ConfigStatus `json:"config"`
}

// UplinkStatus is the MQTT link. Broker never carries credentials.
type UplinkStatus struct {
	Broker        string    `json:"broker"`
	Connected     bool      `json:"connected"`
	LastPublishAt time.Time `json:"last_publish_at,omitzero"`
}

// BufferStatus is the outbox.
type BufferStatus struct {
	Path             string    `json:"path"`
	Depth            int       `json:"depth"`
	OldestUnsentAt   time.Time `json:"oldest_unsent_at,omitzero"`
	OldestUnsentAgeS float64   `json:"oldest_unsent_age_s"`
	LastSeq          uint64    `json:"last_seq"`
	Sent             uint64    `json:"sent"`
	DroppedTickets   uint64    `json:"dropped_tickets"`
	DroppedTelemetry uint64    `json:"dropped_telemetry"`
	// Uncommitted counts events decided but not yet committed (a failing
	// disk): kept in memory and published; normally 0.
	Uncommitted int `json:"uncommitted"`
	// StorageFault is true while the outbox refuses writes or its file is
	// gone; StorageError says why.
	StorageFault      bool      `json:"storage_fault"`
	StorageFaultSince time.Time `json:"storage_fault_since,omitzero"`
	StorageError      string    `json:"storage_error,omitempty"`
	// FallbackImported counts events imported at start from the fallback
	// file the last stop wrote.
	FallbackImported int `json:"fallback_imported,omitempty"`
	// Lost counts unsent ticket events dropped without a tombstone (a
	// storage fault outlasted the memory bound).
	Lost  uint64 `json:"lost,omitempty"`
	Error string `json:"error,omitempty"` // the outbox could not be read
}

// DevicesStatus counts the configured devices.
type DevicesStatus struct {
	Online int `json:"online"`
	Total  int `json:"total"`
}

// Devices is the answer of /v1/devices, in config order.
type Devices struct {
	Now     time.Time `json:"now"`
	Devices []Device  `json:"devices"`
}

// Device is one configured device and how its polls go.
type Device struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Bus      string `json:"bus"`
	Slave    int    `json:"slave"`
	Profile  string `json:"profile"`
	Location string `json:"location,omitempty"`
	// Online has hysteresis: false after sched.OfflineAfter (3, R21's
	// default, rules.OfflineFailures) failed polls in a row (an
	// exception reply is a failed poll), true at the first good one, false
	// before it; Seen is false until the first poll.
	Online      bool      `json:"online"`
	Seen        bool      `json:"seen"`
	LastPoll    time.Time `json:"last_poll,omitzero"`
	LastOK      time.Time `json:"last_ok,omitzero"`
	PollsOK     uint64    `json:"polls_ok"`
	PollsFailed uint64    `json:"polls_failed"`
	// SuccessRate is PollsOK / (PollsOK + PollsFailed); absent before the
	// first poll.
	SuccessRate *float64 `json:"success_rate,omitempty"`
	// LastLatencyMS is how long the last read of the device took (all its
	// requests, one attempt); 0 before the first.
	LastLatencyMS float64   `json:"last_latency_ms"`
	LastError     string    `json:"last_error,omitempty"`
	LastErrorAt   time.Time `json:"last_error_at,omitzero"`
	// Read attempts (a poll may retry) and how they failed: no answer in
	// time, a corrupt or truncated frame, a Modbus exception reply.
	Requests      uint64  `json:"requests"`
	Timeouts      uint64  `json:"timeouts"`
	FrameErrors   uint64  `json:"frame_errors"`
	Exceptions    uint64  `json:"exceptions"`
	MeanLatencyMS float64 `json:"mean_latency_ms"`
	// IntervalS is the device's planned turn: how often its first group
	// (status and alarm words) is to be read; absent when unknown.
	// AchievedIntervalS is the mean time between its polls over the last
	// one to two minutes (or, once it has waited more than twice that,
	// the time since its last poll); absent before its second poll.
	IntervalS         float64  `json:"interval_s,omitempty"`
	AchievedIntervalS *float64 `json:"achieved_interval_s,omitempty"`
	// BusUtilisation is the share of wall time (0..1) its line was busy
	// with requests over the last one to two minutes; absent when the
	// line is not measured.
	BusUtilisation *float64 `json:"bus_utilisation,omitempty"`
	Values         []Value  `json:"values"` // the latest value of each point read
}

// Value is one decoded point.
type Value struct {
	Point  string  `json:"point"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit,omitempty"`
	Absent bool    `json:"absent,omitempty"` // the device reported "no value"
}

// Alarms is the answer of /v1/alarms: the open hazard episodes.
type Alarms struct {
	Now    time.Time `json:"now"`
	Alarms []Alarm   `json:"alarms"`
}

// Alarm is one open ticket.
type Alarm struct {
	TicketID   string    `json:"ticket_id"`
	Device     string    `json:"device"`
	DeviceName string    `json:"device_name"`
	Rule       string    `json:"rule"`
	Hazard     string    `json:"hazard"`
	LabelZh    string    `json:"label_zh,omitempty"`
	Level      int       `json:"level"`
	Since      time.Time `json:"since"`
	AckedBy    string    `json:"acked_by,omitempty"`
	AckedAt    time.Time `json:"acked_at,omitzero"`
}

// Queue is the answer of /v1/queue: unsent outbox records in the order
// the link will send them (priority class, then seq).
type Queue struct {
	Now       time.Time   `json:"now"`
	Depth     int         `json:"depth"`     // all unsent records
	Truncated bool        `json:"truncated"` // Items holds fewer than Depth
	Items     []QueueItem `json:"items"`
	// Uplinks is each uplink's own backlog, MQTT first; Depth and Items
	// are the records some uplink has not delivered.
	Uplinks []UplinkState `json:"uplinks"`
}

// QueueItem is one unsent record. State is "telemetry" for a telemetry
// snapshot.
type QueueItem struct {
	Seq       uint64    `json:"seq"`
	State     string    `json:"state"`
	Hazard    string    `json:"hazard,omitempty"`
	Device    string    `json:"device,omitempty"`
	Level     int       `json:"level,omitempty"`
	TicketID  string    `json:"ticket_id,omitempty"`
	EventID   string    `json:"event_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	AgeS      float64   `json:"age_s"`
}

// Rules is the answer of /v1/rules: the rule engine's explain view.
type Rules struct {
	Now   time.Time `json:"now"`
	Rules []Rule    `json:"rules"`
}

// Rule is where one rule stands on one device.
type Rule struct {
	Device    string    `json:"device"`
	Rule      string    `json:"rule"`
	Hazard    string    `json:"hazard"`
	Phase     string    `json:"phase"` // inactive | pending | firing | clearing
	Since     time.Time `json:"since,omitzero"`
	ElapsedS  float64   `json:"elapsed_s"`
	Samples   int       `json:"samples"`
	Point     string    `json:"point,omitempty"`
	Value     *float64  `json:"value,omitempty"`
	Threshold *float64  `json:"threshold,omitempty"`
	TicketID  string    `json:"ticket_id,omitempty"`
	Level     int       `json:"level"`
	Frozen    bool      `json:"frozen"` // the device is offline: the rule waits
}

// errorBody is the JSON of a failed request.
type errorBody struct {
	Error string `json:"error"`
}
