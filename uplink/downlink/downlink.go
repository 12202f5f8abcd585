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
	"unicode/utf8"
)

// MaxSize is the largest command payload accepted, in bytes.
const MaxSize = 4096

// MaxField is the longest value of any one field, in bytes.
const MaxField = 256

// Commands.
const (
	CmdAck  = "ack"  // the township acknowledged ticket_id; by is who
	CmdPing = "ping" // reply with the gateway's time
	CmdDiag = "diag" // reply with the current status
	// CmdControl and CmdConfig are reserved for remote control (reset,
	// mute, self-test) and remote configuration: not executed by this
	// gateway yet, and refused unless signed (see [Policies]), so that
	// they can never run unsigned once they are added.
	CmdControl = "control"
	CmdConfig  = "config"
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
}

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
	if len(payload) > MaxSize {
		return c, &Error{Reason: fmt.Sprintf("payload of %d bytes exceeds %d", len(payload), MaxSize), Err: ErrTooLarge}
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
		raw, ok := fields[name]
		if !ok {
			return
		}
		if err := json.Unmarshal(raw, dst); err != nil || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte(`"`)) {
			*dst = ""
			errs = append(errs, &Error{Field: name, Reason: "must be a string"})
			return
		}
		if len(*dst) > MaxField {
			*dst = ""
			errs = append(errs, &Error{Field: name, Reason: fmt.Sprintf("longer than %d bytes", MaxField)})
		}
	}
	str("id", &c.ID)
	str("cmd", &c.Cmd)
	str("ticket_id", &c.TicketID)
	str("by", &c.By)
	str("ts", &c.TS)
	if len(errs) > 0 {
		return c, errs[0]
	}
	require := func(name, v string) error {
		if v == "" {
			return &Error{Field: name, Reason: "is required"}
		}
		return nil
	}
	if err := require("id", c.ID); err != nil {
		return c, err
	}
	if err := require("cmd", c.Cmd); err != nil {
		return c, err
	}
	switch c.Cmd {
	case CmdAck:
		if err := require("ticket_id", c.TicketID); err != nil {
			return c, err
		}
		if err := require("by", c.By); err != nil {
			return c, err
		}
	case CmdPing, CmdDiag:
	case CmdControl, CmdConfig:
		return c, &Error{Field: "cmd", Reason: fmt.Sprintf("command %q is not supported by this gateway", c.Cmd)}
	default:
		return c, &Error{Field: "cmd", Reason: fmt.Sprintf("unknown command %q (want ack, ping or diag)", c.Cmd)}
	}
	return c, nil
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
