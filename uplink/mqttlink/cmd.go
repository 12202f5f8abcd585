package mqttlink

import (
	"context"
	"errors"
	"fmt"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fenghuo-iot/fenghuo/uplink/downlink"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// Downlink commands pass three gates before they run, all on paho's
// receiving goroutine, which must never block:
//
//  1. size: sizeConn empties a PUBLISH whose payload exceeds
//     downlink.MaxPayload on the wire (a config command's size); admit
//     refuses it, and Parse refuses any other command over downlink.MaxSize;
//  2. admission (downlink.Guard): retain flag, signature when a key is
//     set, ts age, replayed id; then a token bucket per kind
//     (downlink.Limiter), so a flood of one kind spends only its own budget;
//  3. a queue per class: acks wait in their own queue (ackQueue, kept
//     across reconnects), served before anything else; ping and diag, and
//     the refusal replies, wait in the connection's queue (cmdQueue).
//
// A refused command is counted, logged (at most logBurst lines, then one
// line a second with how many were suppressed) and answered while the
// reply budget lasts; a flood is answered only in part.
const (
	cmdQueue = 32  // ping, diag and refusal replies waiting, per connection
	ackQueue = 128 // acks waiting (their rate is bounded by the ack policy)
	// Refusal replies: at most replyBurst at once, replyRate a second.
	replyRate, replyBurst = 10, 20
	// Refusal log lines.
	logRate, logBurst = 1, 10
)

// cmdMsg is one admitted command, or (reply set) a refusal to publish.
type cmdMsg struct {
	cmd   downlink.Command
	reply *downlink.Reply
}

// cmdHandler is the paho handler of P/T/G/cmd. paho calls it on its own
// goroutine, which must not block: it admits the message and queues it for
// serveCmds.
func (l *Link) cmdHandler(cmds chan<- cmdMsg) paho.MessageHandler {
	return func(_ paho.Client, m paho.Message) {
		l.admit(cmds, m.Topic(), m.MessageID(), m.Payload(), m.Retained())
	}
}

// admit validates one received command and queues it, or its refusal.
func (l *Link) admit(cmds chan<- cmdMsg, topic string, id uint16, payload []byte, retained bool) {
	l.cmdN.Add(1)
	if len(payload) == 0 {
		if size := l.cuts.take(topic, id); size > 0 {
			l.cmdTooLarge.Add(1)
			l.refuse(cmds, "", size, fmt.Errorf("downlink: payload too large: %d bytes > %d", size, downlink.MaxPayload))
			return
		}
	}
	cmd, signed, err := l.guard.Check(topic, payload, retained, l.opts.Now())
	if err != nil {
		if errors.Is(err, downlink.ErrTooLarge) {
			l.cmdTooLarge.Add(1)
		}
		l.refuse(cmds, cmd.ID, int64(len(payload)), err)
		return
	}
	if !l.limiter.Allow(cmd.Cmd, time.Now()) {
		l.cmdLimited.Add(1)
		pol := downlink.PolicyOf(cmd.Cmd)
		l.refuse(cmds, cmd.ID, int64(len(payload)), fmt.Errorf("downlink: rate limit: more than %g %q commands a second (burst %d); send it again later", pol.Rate, cmd.Cmd, pol.Burst))
		return
	}
	q, msg := cmds, cmdMsg{cmd: cmd}
	if cmd.Cmd == downlink.CmdAck {
		q = l.acks
	}
	select {
	case q <- msg:
		if signed {
			l.log.Debug("uplink: signed downlink command admitted", "id", cmd.ID, "cmd", cmd.Cmd)
		}
	default:
		l.refuse(cmds, cmd.ID, int64(len(payload)), fmt.Errorf("downlink: too many %q commands waiting; send it again later", cmd.Cmd))
	}
}

// refuse counts, logs (throttled) and answers (within the reply budget) a
// refused command.
func (l *Link) refuse(cmds chan<- cmdMsg, id string, size int64, err error) {
	l.cmdBad.Add(1)
	now := time.Now()
	l.refuseMu.Lock()
	logIt, replyIt := l.logBudget.Allow(now), l.replyBudget.Allow(now)
	suppressed := l.logSuppressed
	if logIt {
		l.logSuppressed = 0
	} else {
		l.logSuppressed++
	}
	l.refuseMu.Unlock()
	if logIt {
		args := []any{"topic", l.topics.Cmd(), "id", id, "bytes", size, "err", err}
		if suppressed > 0 {
			args = append(args, "refusals_not_logged", suppressed)
		}
		l.log.Warn("uplink: downlink command refused", args...)
	}
	if !replyIt {
		return
	}
	rep := downlink.Fail(id, err)
	select {
	case cmds <- cmdMsg{reply: &rep}:
	default:
	}
}

// subscribeCmds subscribes P/T/G/cmd at QoS 1 on this connection (the
// route to cmds was added before connecting; with a persistent session
// the broker already has the subscription, and renewing it is harmless).
func (l *Link) subscribeCmds(c paho.Client, cmds chan<- cmdMsg) error {
	tok := c.Subscribe(l.topics.Cmd(), 1, l.cmdHandler(cmds))
	if !tok.WaitTimeout(l.opts.AckTimeout) {
		return &linkError{fmt.Errorf("subscribe %s: no SUBACK within %s", l.topics.Cmd(), l.opts.AckTimeout)}
	}
	if err := tok.Error(); err != nil {
		return &linkError{fmt.Errorf("subscribe %s: %w", l.topics.Cmd(), err)}
	}
	return nil
}

// serveCmds answers queued commands on P/T/G/reply until ctx is done;
// acks first. A command taken is finished even when ctx ends meanwhile
// (its handler's own timeouts bound it): an ack is recorded and a config
// that moved the link is answered.
func (l *Link) serveCmds(ctx context.Context, c paho.Client, cmds <-chan cmdMsg) {
	for ctx.Err() == nil { // an ack taken after the session ended would lose its reply
		var m cmdMsg
		select {
		case m = <-l.acks:
		default:
			select {
			case <-ctx.Done():
				return
			case m = <-l.acks:
			case m = <-cmds:
			}
		}
		rep := m.reply
		if rep == nil {
			r := l.handleCmd(context.WithoutCancel(ctx), m.cmd)
			rep = &r
		}
		p, err := rep.Marshal()
		if err != nil {
			l.log.Error("uplink: reply not encodable", "id", rep.ID, "err", err)
			continue
		}
		if err := l.publish(c, l.topics.Reply(), false, p); err != nil {
			l.log.Warn("uplink: reply not acknowledged", "id", rep.ID, "err", err)
		}
	}
}

// handleCmd executes one admitted command. It never panics: a failure of
// any kind is an error reply and one log line.
func (l *Link) handleCmd(ctx context.Context, cmd downlink.Command) (rep downlink.Reply) {
	defer func() {
		if p := recover(); p != nil {
			l.cmdBad.Add(1)
			l.log.Error("uplink: downlink command crashed its handler", "id", cmd.ID, "panic", p)
			rep = downlink.Fail(cmd.ID, fmt.Errorf("internal error"))
		}
	}()
	now := l.opts.Now()
	switch cmd.Cmd {
	case downlink.CmdPing:
		l.noteClock(cmd, now)
		return downlink.Reply{ID: cmd.ID, OK: true, Cmd: cmd.Cmd, Time: ticket.FormatTime(now)}
	case downlink.CmdControl:
		return l.control(ctx, cmd)
	case downlink.CmdConfig:
		return l.config(ctx, cmd) // cmdconfig.go
	case downlink.CmdDiag:
		p, err := l.statusPayload(ticket.StatusOnline)
		if err != nil {
			l.cmdBad.Add(1)
			return downlink.Fail(cmd.ID, fmt.Errorf("status: %w", err))
		}
		return downlink.Reply{ID: cmd.ID, OK: true, Cmd: cmd.Cmd, Time: ticket.FormatTime(now), Status: p}
	case downlink.CmdAck:
		acker, ok := l.opts.Outbox.(outbox.Acker)
		if !ok {
			l.cmdBad.Add(1)
			return downlink.Fail(cmd.ID, errors.New("this gateway's outbox does not record acks"))
		}
		actx, cancel := context.WithTimeout(ctx, l.opts.AckTimeout)
		defer cancel()
		if err := acker.Ack(actx, cmd.TicketID, cmd.By, now); err != nil {
			l.cmdBad.Add(1)
			if errors.Is(err, outbox.ErrUnknownTicket) {
				l.log.Warn("uplink: ack for an unknown ticket", "id", cmd.ID, "ticket_id", cmd.TicketID, "by", cmd.By)
				return downlink.Fail(cmd.ID, fmt.Errorf("unknown ticket_id %q", cmd.TicketID))
			}
			l.log.Error("uplink: ack not recorded", "id", cmd.ID, "ticket_id", cmd.TicketID, "err", err)
			return downlink.Fail(cmd.ID, fmt.Errorf("ack not recorded: %v", err))
		}
		at := ticket.FormatTime(now)
		l.mu.Lock()
		l.lastAck = &ticket.StatusAck{TicketID: cmd.TicketID, By: cmd.By, At: at}
		l.mu.Unlock()
		l.log.Info("uplink: ticket acknowledged by the township", "ticket_id", cmd.TicketID, "by", cmd.By)
		return downlink.Reply{ID: cmd.ID, OK: true, Cmd: cmd.Cmd, TicketID: cmd.TicketID, By: cmd.By, AckedAt: at}
	}
	l.cmdBad.Add(1)
	return downlink.Fail(cmd.ID, fmt.Errorf("unhandled command %q", cmd.Cmd)) // Parse admits only the three
}

// maxClockOffset is the offset from the platform's clock that is logged
// as a warning (DESIGN §8.4: an offset over 5 s is reported).
const maxClockOffset = 5 * time.Second

// noteClock keeps the gateway's offset from the platform's clock a ping
// carried (the ping's transit time counts in it: milliseconds). The
// gateway never steps its own clock: NTP does (DESIGN §8.4).
func (l *Link) noteClock(cmd downlink.Command, now time.Time) {
	if cmd.Now == "" {
		return
	}
	platform, err := time.Parse(time.RFC3339Nano, cmd.Now)
	if err != nil {
		return // Parse checked it
	}
	off := now.Sub(platform)
	l.mu.Lock()
	l.clockOffset, l.clockKnown = off, true
	l.mu.Unlock()
	if off > maxClockOffset || off < -maxClockOffset {
		l.log.Warn("uplink: the gateway's clock is off the platform's", "offset", off.Round(time.Millisecond), "platform", cmd.Now)
	}
}

// ClockOffset is the gateway's clock minus the platform's from the last
// ping that carried the platform's time; ok is false before one did.
func (l *Link) ClockOffset() (off time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.clockOffset, l.clockKnown
}

// control runs a signed control command when the config allows it, and
// logs it either way.
func (l *Link) control(ctx context.Context, cmd downlink.Command) downlink.Reply {
	if l.opts.Control == nil {
		l.cmdBad.Add(1)
		l.log.Warn("uplink: remote control refused: uplink.allow_remote_control is false", "id", cmd.ID, "device", cmd.Device, "action", cmd.Action, "by", cmd.By)
		return downlink.Fail(cmd.ID, errors.New("remote control is off on this gateway (uplink.allow_remote_control: false)"))
	}
	l.log.Info("uplink: remote control", "id", cmd.ID, "device", cmd.Device, "action", cmd.Action, "by", cmd.By)
	res, err := l.opts.Control(ctx, cmd.Device, cmd.Action, cmd.By)
	if err != nil {
		l.cmdBad.Add(1)
		l.log.Warn("uplink: remote control refused", "id", cmd.ID, "device", cmd.Device, "action", cmd.Action, "err", err)
		return downlink.Fail(cmd.ID, err)
	}
	rep := downlink.Reply{ID: cmd.ID, OK: res.Result == "ok", Cmd: cmd.Cmd, Control: &res}
	if !rep.OK {
		rep.Error = fmt.Sprintf("%s did not take the %s command: %s", res.Device, res.Action, res.Error)
	}
	return rep
}

// Commands returns how many downlink commands arrived and how many were
// rejected (malformed, unknown, unsigned, stale, rate-limited, too large,
// failed or dropped).
func (l *Link) Commands() (handled, rejected uint64) { return l.cmdN.Load(), l.cmdBad.Load() }

// CommandRefusals counts two kinds of refusal: payloads over
// downlink.MaxPayload (cut on the wire) or over their kind's size, and
// commands over their kind's rate.
func (l *Link) CommandRefusals() (tooLarge, rateLimited uint64) {
	return l.cmdTooLarge.Load(), l.cmdLimited.Load()
}
