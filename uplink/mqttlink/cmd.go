package mqttlink

import (
	"context"
	"errors"
	"fmt"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fenghuo-iot/fenghuo/uplink/downlink"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// cmdQueue bounds the commands waiting for an answer; more are dropped
// with a log line (a flood on the cmd topic must not grow memory).
const cmdQueue = 32

type cmdMsg struct {
	payload  []byte
	retained bool
}

// cmdHandler is the paho handler of P/T/G/cmd. paho calls it on its own
// goroutine, which must not block: it only queues the message for
// serveCmds.
func (l *Link) cmdHandler(cmds chan<- cmdMsg) paho.MessageHandler {
	return func(_ paho.Client, m paho.Message) {
		select {
		case cmds <- cmdMsg{payload: m.Payload(), retained: m.Retained()}:
		default:
			l.cmdBad.Add(1)
			l.log.Warn("uplink: downlink command dropped: too many waiting", "topic", m.Topic(), "bytes", len(m.Payload()))
		}
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

// serveCmds answers queued commands on P/T/G/reply until ctx is done.
func (l *Link) serveCmds(ctx context.Context, c paho.Client, cmds <-chan cmdMsg) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-cmds:
			rep := l.handleCmd(ctx, m)
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
}

// handleCmd validates and executes one command. It never panics: a
// failure of any kind is an error reply and one log line.
func (l *Link) handleCmd(ctx context.Context, m cmdMsg) (rep downlink.Reply) {
	l.cmdN.Add(1)
	var id string
	defer func() {
		if p := recover(); p != nil {
			l.cmdBad.Add(1)
			l.log.Error("uplink: downlink command crashed its handler", "id", id, "panic", p)
			rep = downlink.Fail(id, fmt.Errorf("internal error"))
		}
	}()
	cmd, err := downlink.Parse(m.payload)
	id = cmd.ID
	if err == nil && m.retained {
		err = errors.New("downlink: retained commands are ignored (publish cmd with retain=false)")
	}
	if err != nil {
		l.cmdBad.Add(1)
		l.log.Warn("uplink: downlink command rejected", "topic", l.topics.Cmd(), "id", id, "bytes", len(m.payload), "err", err)
		return downlink.Fail(id, err)
	}
	now := l.opts.Now()
	switch cmd.Cmd {
	case downlink.CmdPing:
		return downlink.Reply{ID: cmd.ID, OK: true, Cmd: cmd.Cmd, Time: ticket.FormatTime(now)}
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
	return downlink.Fail(cmd.ID, fmt.Errorf("unhandled command %q", cmd.Cmd)) // Parse admits only the three
}

// Commands returns how many downlink commands arrived and how many were
// rejected (malformed, unknown, failed or dropped).
func (l *Link) Commands() (handled, rejected uint64) { return l.cmdN.Load(), l.cmdBad.Load() }
