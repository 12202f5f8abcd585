package downlink

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Policy is what a gateway admits of one kind of command.
type Policy struct {
	Rate   float64       // sustained commands per second
	Burst  int           // commands admitted at once
	MaxAge time.Duration // a command whose ts is older (or as far ahead) is refused
	Signed bool          // refused unless signed with the gateway's key
}

// policies: acks have their own, generous budget (a township may ack a
// burst of tickets at once) and may be 24 h old (queued by the broker in
// the gateway's persistent session while it was offline; replaying an ack
// of the same ticket is harmless). Everything else must be fresh.
var policies = map[string]Policy{
	CmdAck:     {Rate: 10, Burst: 100, MaxAge: 24 * time.Hour},
	CmdPing:    {Rate: 2, Burst: 10, MaxAge: 5 * time.Minute},
	CmdDiag:    {Rate: 0.5, Burst: 5, MaxAge: 5 * time.Minute},
	CmdControl: {Rate: 0.2, Burst: 3, MaxAge: 5 * time.Minute, Signed: true},
	CmdConfig:  {Rate: 0.2, Burst: 3, MaxAge: 5 * time.Minute, Signed: true},
}

// otherPolicy applies to anything else (refused by Parse anyway).
var otherPolicy = Policy{Rate: 1, Burst: 5, MaxAge: 5 * time.Minute}

// PolicyOf returns the policy of a command name.
func PolicyOf(cmd string) Policy {
	if p, ok := policies[cmd]; ok {
		return p
	}
	return otherPolicy
}

// Errors wrapped by the *Error of a refused command.
var (
	ErrRetained = errors.New("retained command")
	ErrUnsigned = errors.New("unsigned command")
	ErrStale    = errors.New("stale command")
	ErrReplayed = errors.New("replayed command")
)

// MaxSeen bounds the ids of signed commands remembered against replay; the
// oldest is forgotten first.
const MaxSeen = 10_000

// Guard admits commands: authenticity (signature), freshness (ts, retain
// flag) and replay. It is safe for concurrent use.
type Guard struct {
	key  []byte
	mu   sync.Mutex
	seen map[string]time.Time // signed id → until when it is remembered
	fifo []seenID             // in arrival order
}

type seenID struct {
	id    string
	until time.Time
}

// NewGuard builds a guard; with a key, every command must be signed.
func NewGuard(key []byte) *Guard {
	return &Guard{key: key, seen: map[string]time.Time{}}
}

// Keyed reports whether the guard requires signatures.
func (g *Guard) Keyed() bool { return len(g.key) > 0 }

// Check validates one payload received on topic at now. retained is the
// MQTT retain flag of the delivery. signed says the signature was
// verified. On error the command still carries the id when one could be
// read, for the reply.
func (g *Guard) Check(topic string, payload []byte, retained bool, now time.Time) (cmd Command, signed bool, err error) {
	if len(payload) > MaxPayload {
		cmd, err = Parse(payload)
		return cmd, false, err
	}
	body, _, hasSig := splitSig(payload)
	if !hasSig {
		body = payload
	}
	cmd, perr := Parse(body)
	if retained {
		return cmd, false, &Error{Reason: "retained commands are refused (publish cmd with retain=false; clear the retained message with an empty retained publish)", Err: ErrRetained}
	}
	if g.Keyed() {
		if !hasSig {
			if bytes.Contains(payload, []byte(`"sig"`)) {
				return cmd, false, &Error{Field: "sig", Reason: sigPlacement, Err: ErrUnsigned}
			}
			return cmd, false, &Error{Field: "sig", Reason: "is required: this gateway accepts only signed commands (HMAC-SHA256, docs/tickets.md §6)", Err: ErrUnsigned}
		}
		if _, err := verify(g.key, topic, payload); err != nil {
			return cmd, false, err
		}
		signed = true
	}
	pol := PolicyOf(cmd.Cmd)
	if pol.Signed && !signed {
		return cmd, false, &Error{Field: "cmd", Reason: fmt.Sprintf("%q commands must be signed, and this gateway has no command key (uplink.cmd_key_file)", cmd.Cmd), Err: ErrUnsigned}
	}
	if perr != nil {
		return cmd, signed, perr
	}
	if err := checkTS(cmd, signed, pol, now); err != nil {
		return cmd, signed, err
	}
	if signed {
		if err := g.remember(cmd.ID, now, pol.MaxAge); err != nil {
			return cmd, signed, err
		}
	}
	return cmd, signed, nil
}

// checkTS refuses a command too old or too far ahead; ts is required when
// the command is signed (else a recorded command could be replayed once
// the guard forgot its id).
func checkTS(cmd Command, signed bool, pol Policy, now time.Time) error {
	if cmd.TS == "" {
		if signed {
			return &Error{Field: "ts", Reason: "is required in a signed command (RFC 3339, e.g. 2026-12-04T16:30:00.000+08:00)"}
		}
		return nil
	}
	ts, err := time.Parse(time.RFC3339Nano, cmd.TS)
	if err != nil {
		return &Error{Field: "ts", Reason: fmt.Sprintf("%q is not an RFC 3339 time (e.g. 2026-12-04T16:30:00.000+08:00)", cmd.TS)}
	}
	switch age := now.Sub(ts); {
	case age > pol.MaxAge:
		return &Error{Field: "ts", Reason: fmt.Sprintf("command is %s old, older than the %s allowed for %q (stale, retained or replayed)", age.Round(time.Second), pol.MaxAge, cmd.Cmd), Err: ErrStale}
	case -age > pol.MaxAge:
		return &Error{Field: "ts", Reason: fmt.Sprintf("command is %s ahead of the gateway's clock (more than %s): check the clocks", (-age).Round(time.Second), pol.MaxAge), Err: ErrStale}
	}
	return nil
}

// remember records a signed id for twice its window (a replay after that
// is refused by its ts); it refuses an id it remembers.
func (g *Guard) remember(id string, now time.Time, window time.Duration) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if until, ok := g.seen[id]; ok && now.Before(until) {
		return &Error{Field: "id", Reason: fmt.Sprintf("%q was already used (a replayed command; use a new id for every command)", id), Err: ErrReplayed}
	}
	for len(g.fifo) > 0 && (len(g.fifo) >= MaxSeen || !now.Before(g.fifo[0].until)) {
		if old := g.fifo[0]; g.seen[old.id].Equal(old.until) {
			delete(g.seen, old.id)
		}
		g.fifo = g.fifo[1:]
	}
	until := now.Add(2 * window)
	g.seen[id] = until
	g.fifo = append(g.fifo, seenID{id, until})
	return nil
}
