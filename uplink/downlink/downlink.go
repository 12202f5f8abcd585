// Package downlink parses and answers the township's commands on P/T/G/cmd
// (DESIGN §5): {"id","cmd":"ack"|"ping"|"diag","ticket_id","by"}. Replies
// go to P/T/G/reply, correlated by id. It is pure (stdlib only): the MQTT
// link receives the bytes, this package validates them.
package downlink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxSize is the largest command payload accepted, in bytes, except a
// config command's (MaxPayload).
const MaxSize = 4096

// MaxConfigSize bounds the YAML text of a config command, in bytes.
const MaxConfigSize = 64 << 10

// MaxPayload is the largest payload of any command (a config command:
// its YAML and the other fields): what the link lets through on the wire.
const MaxPayload = MaxConfigSize + MaxSize

// MaxField is the longest value of any one field, in bytes.
const MaxField = 256

// Commands.
const (
	CmdAck  = "ack"  // the township acknowledged ticket_id; by is who
	CmdPing = "ping" // reply with the gateway's time
	CmdDiag = "diag" // reply with the current status
	// CmdControl writes a device's command register (device, action:
	// reset | mute | self-test); refused unless signed (see [Policies]) and
	// unless the gateway allows remote control (uplink.allow_remote_control).
	CmdControl = "control"
	// CmdConfig replaces the gateway's whole config file with Config (the
	// YAML text, at most MaxConfigSize); refused unless signed and unless
	// the gateway allows remote configuration (uplink.allow_remote_config).
	CmdConfig = "config"
)

// Command is one validated downlink command.
type Command struct {
	ID       string `json:"id"`
	Cmd      string `json:"cmd"`
	TicketID string `json:"ticket_id,omitempty"`
	By       string `json:"by,omitempty"`
	// TS is when the command was issued (RFC 3339): a command older than
	// its kind's Policy.MaxAge is refused. Required when signed.
	TS string `json:"ts,omitempty"`
	// Device and Action are a control command's target and what to do.
	Device string `json:"device,omitempty"`
	Action string `json:"action,omitempty"`
	// Now is the platform's clock on a ping (RFC 3339): the gateway
	// reports its offset from it (status clock_offset_ms).
	Now string `json:"now,omitempty"`
	// Config is a config command's YAML: the whole config file.
	Config string `json:"config,omitempty"`
}

// Control actions.
var Actions = []string{"reset", "mute", "self-test"}

// Marshal encodes the command (what a station publishes).
func (c Command) Marshal() ([]byte, error) { return json.Marshal(c) }

// ErrTooLarge is returned (wrapped in *Error) for a payload over MaxSize.
var ErrTooLarge = errors.New("payload too large")

// Error says why a payload is not a valid command. Field names the JSON
// field at fault ("" when the payload as a whole is wrong).
type Error struct {
	Field  string
	Reason string
	Err    error // ErrTooLarge, or the JSON syntax error; may be nil
}

func (e *Error) Error() string {
	if e.Field == "" {
		return "downlink: " + e.Reason
	}
	return fmt.Sprintf("downlink: field %q: %s", e.Field, e.Reason)
}

func (e *Error) Unwrap() error { return e.Err }

// Parse validates a cmd payload. On error the returned Command still
// carries the id when one could be read, so the error reply can be
// correlated.
func Parse(payload []byte) (Command, error) {
	var c Command
	if len(payload) > MaxPayload {
		return c, &Error{Reason: fmt.Sprintf("payload of %d bytes exceeds %d", len(payload), MaxPayload), Err: ErrTooLarge}
	}
	if !utf8.Valid(payload) {
		return c, &Error{Reason: "payload is not valid UTF-8"}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(payload, &fields); err != nil || fields == nil {
		if err == nil {
			err = errors.New("null")
		}
		return c, &Error{Reason: "payload is not a JSON object", Err: err}
	}
	var errs []error
	str := func(name string, dst *string) {
		strField(fields, name, dst, MaxField, &errs)
	}
	str("id", &c.ID)
	str("cmd", &c.Cmd)
	str("ticket_id", &c.TicketID)
	str("by", &c.By)
	str("ts", &c.TS)
	str("device", &c.Device)
	str("action", &c.Action)
	str("now", &c.Now)
	strField(fields, "config", &c.Config, MaxConfigSize, &errs)
	if len(errs) > 0 {
		return c, errs[0]
	}
	if c.Cmd != CmdConfig && len(payload) > MaxSize {
		return c, &Error{Reason: fmt.Sprintf("payload of %d bytes exceeds %d", len(payload), MaxSize), Err: ErrTooLarge}
	}
	return c, c.check()
}

// strField decodes the string field name of fields into dst, at most max
// bytes; a problem is appended to errs and leaves dst empty.
func strField(fields map[string]json.RawMessage, name string, dst *string, max int, errs *[]error) {
	raw, ok := fields[name]
	if !ok {
		return
	}
	if err := json.Unmarshal(raw, dst); err != nil || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte(`"`)) {
		*dst = ""
		*errs = append(*errs, &Error{Field: name, Reason: "must be a string"})
		return
	}
	if len(*dst) > max {
		*dst = ""
		*errs = append(*errs, &Error{Field: name, Reason: fmt.Sprintf("longer than %d bytes", max)})
	}
}

// check validates the fields a command kind requires.
func (c Command) check() error {
	require := func(name, v string) error {
		if v == "" {
			return &Error{Field: name, Reason: "is required"}
		}
		return nil
	}
	if err := require("id", c.ID); err != nil {
		return err
	}
	if err := require("cmd", c.Cmd); err != nil {
		return err
	}
	switch c.Cmd {
	case CmdAck:
		if err := require("ticket_id", c.TicketID); err != nil {
			return err
		}
		if err := require("by", c.By); err != nil {
			return err
		}
	case CmdPing:
		if c.Now != "" {
			if _, err := time.Parse(time.RFC3339Nano, c.Now); err != nil {
				return &Error{Field: "now", Reason: "is not an RFC 3339 time"}
			}
		}
	case CmdDiag:
	case CmdControl:
		if err := require("device", c.Device); err != nil {
			return err
		}
		if !slices.Contains(Actions, c.Action) {
			return &Error{Field: "action", Reason: fmt.Sprintf("%q is not one of %s", c.Action, strings.Join(Actions, ", "))}
		}
	case CmdConfig:
		if err := require("config", c.Config); err != nil {
			return err
		}
	default:
		return &Error{Field: "cmd", Reason: fmt.Sprintf("unknown command %q (want ack, ping, diag, control or config)", c.Cmd)}
	}
	return nil
}

// Reply is the answer on P/T/G/reply: {"id","ok":true,...} or
// {"id","ok":false,"error":"..."}.
type Reply struct {
	ID    string `json:"id"`
	OK    bool   `json:"ok"`
	Cmd   string `json:"cmd,omitempty"`
	Error string `json:"error,omitempty"`
	// Time is the gateway's clock (ping), RFC 3339 with milliseconds.
	Time string `json:"time,omitempty"`
	// TicketID and By echo an ack.
	TicketID string `json:"ticket_id,omitempty"`
	By       string `json:"by,omitempty"`
	// AckedAt is when the gateway recorded an ack.
	AckedAt string `json:"acked_at,omitempty"`
	// Status is the current fenghuo.status.v1 message (diag).
	Status json.RawMessage `json:"status,omitempty"`
	// Control is what a control command did (the operation record's).
	Control *ControlResult `json:"control,omitempty"`
	// Config is what a config command did.
	Config *ConfigResult `json:"config,omitempty"`
}

// ConfigResult is the answer to a config command. Refused: Problems has
// every problem, each with its key path, and the running config is kept.
// Applied: the new config runs and is kept only if the uplink is
// connected and every bus answers within ConfirmWindowS seconds;
// otherwise the gateway restores the previous one by itself (the
// operation records in the outbox say which happened).
type ConfigResult struct {
	Applied        bool     `json:"applied"`
	Unchanged      bool     `json:"unchanged,omitempty"`
	Problems       []string `json:"problems,omitempty"`
	Hash           string   `json:"hash,omitempty"` // of the config running after the command
	ConfirmWindowS float64  `json:"confirm_window_s,omitempty"`
}

// ControlResult is the answer to a control command: how the device took
// the write, and the operation record's seq.
type ControlResult struct {
	Device string `json:"device"`
	Action string `json:"action"`
	Result string `json:"result"` // ok | failed
	Error  string `json:"error,omitempty"`
	Seq    uint64 `json:"seq,omitempty"`
}

// Marshal encodes the reply.
func (r Reply) Marshal() ([]byte, error) { return json.Marshal(r) }

// ParseReply decodes a reply (stations, tests).
func ParseReply(payload []byte) (Reply, error) {
	var r Reply
	err := json.Unmarshal(payload, &r)
	return r, err
}

// Fail is the error reply to a command (id may be empty when unreadable).
func Fail(id string, err error) Reply { return Reply{ID: id, OK: false, Error: err.Error()} }
