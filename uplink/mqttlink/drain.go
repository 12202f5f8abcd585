package mqttlink

import (
	"context"
	"errors"
	"fmt"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// batch is how many pending records are read at a time; a level-1 ticket
// appended during a replay overtakes the backlog after at most one batch.
const batch = 16

// transmissionFaultAfter is R25: a ticket waiting this long without PUBACK.
const transmissionFaultAfter = 100 * time.Second

// errLost says paho reported the connection lost.
var errLost = errors.New("connection lost")

// linkError marks a failure of the MQTT session (as opposed to the outbox).
type linkError struct{ err error }

func (e *linkError) Error() string { return e.err.Error() }
func (e *linkError) Unwrap() error { return e.err }

// session runs one connected session until ctx is done (nil) or the
// connection fails (an error).
func (l *Link) session(ctx context.Context, c paho.Client, lost <-chan struct{}) error {
	l.setConnected(true)
	if err := l.publishStatus(c, ticket.StatusOnline); err != nil {
		return err
	}
	l.log.Info("uplink: connected", "broker", l.broker, "client_id", l.opts.ClientID, "status_topic", l.topics.Status())
	hb := time.NewTicker(l.opts.Heartbeat)
	defer hb.Stop()
	poll := time.NewTicker(l.opts.PollInterval)
	defer poll.Stop()
	for {
		if err := l.drain(ctx, c, lost, hb); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-lost:
			return errLost
		case <-l.notify:
		case <-poll.C:
		case <-hb.C:
			if err := l.publishStatus(c, ticket.StatusOnline); err != nil {
				return err
			}
		}
	}
}

// drain publishes pending records until none is left. Outbox errors are
// logged and retried at the next poll; link errors end the session.
func (l *Link) drain(ctx context.Context, c paho.Client, lost <-chan struct{}, hb *time.Ticker) error {
	for ctx.Err() == nil {
		recs, err := l.opts.Outbox.Pending(ctx, batch)
		if err != nil {
			if ctx.Err() == nil {
				l.log.Error("uplink: outbox read failed; retrying", "err", err)
			}
			return nil
		}
		if len(recs) == 0 {
			return nil
		}
		for _, r := range recs {
			select {
			case <-ctx.Done():
				return nil
			case <-lost:
				return errLost
			case <-hb.C:
				if err := l.publishStatus(c, ticket.StatusOnline); err != nil {
					return err
				}
			default:
			}
			if err := l.send(c, r); err != nil {
				var le *linkError
				if errors.As(err, &le) {
					return err
				}
				l.log.Error("uplink: outbox update failed; the record will be published again", "seq", r.Seq, "err", err)
				return nil
			}
		}
	}
	return nil
}

// send stamps, publishes and, after the PUBACK, marks one record sent.
func (l *Link) send(c paho.Client, r outbox.Record) error {
	now := time.Now()
	topic, payload := l.topics.Telemetry(), r.Payload
	if r.IsTicket() {
		topic = l.topics.Tickets()
		var err error
		if payload, err = ticket.Stamp(r.Payload, r.Seq, now, l.buffered(r, now)); err != nil {
			// A record that cannot be stamped would block the queue forever:
			// it is kept in the outbox for diagnosis and skipped.
			l.log.Error("uplink: UNPUBLISHABLE record skipped (kept in the outbox)", "seq", r.Seq, "event_id", r.EventID, "err", err)
			return l.markSent(r, time.Now())
		}
	}
	if err := l.publish(c, topic, false, payload); err != nil {
		return err
	}
	return l.markSent(r, time.Now())
}

func (l *Link) markSent(r outbox.Record, at time.Time) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.opts.Outbox.MarkSent(ctx, at, r.Seq); err != nil {
		return err
	}
	l.mu.Lock()
	l.lastPublish = at
	l.mu.Unlock()
	if l.opts.OnPublished != nil {
		l.opts.OnPublished(r, at)
	}
	return nil
}

// buffered: the record waited in the outbox — created before this session
// was connected, or older than BufferedAfter.
func (l *Link) buffered(r outbox.Record, now time.Time) bool {
	l.mu.Lock()
	since := l.connectedSince
	l.mu.Unlock()
	return r.CreatedAt.Before(since) || now.Sub(r.CreatedAt) > l.opts.BufferedAfter
}

// publish sends at QoS 1 and waits for the PUBACK.
func (l *Link) publish(c paho.Client, topic string, retain bool, payload []byte) error {
	tok := c.Publish(topic, 1, retain, payload)
	if !tok.WaitTimeout(l.opts.AckTimeout) {
		return &linkError{fmt.Errorf("publish %s: no PUBACK within %s", topic, l.opts.AckTimeout)}
	}
	if err := tok.Error(); err != nil {
		return &linkError{fmt.Errorf("publish %s: %w", topic, err)}
	}
	return nil
}

func (l *Link) publishStatus(c paho.Client, state string) error {
	p, err := l.statusPayload(state)
	if err != nil {
		return err
	}
	return l.publish(c, l.topics.Status(), true, p)
}

// statusPayload completes the caller's status and marshals it.
func (l *Link) statusPayload(state string) ([]byte, error) {
	st := l.baseStatus()
	st.Schema, st.Gateway, st.State = ticket.StatusSchema, l.opts.GatewayID, state
	st.At = ticket.FormatTime(time.Now())
	if st.Version == "" {
		st.Version = "dev"
	}
	if st.StartedAt == "" {
		st.StartedAt = ticket.FormatTime(l.started)
	}
	if lp := l.LastPublish(); st.LastPublishAt == "" && !lp.IsZero() {
		st.LastPublishAt = ticket.FormatTime(lp)
	}
	st.TransmissionFault = st.TransmissionFault || st.OldestUnsentAgeS >= transmissionFaultAfter.Seconds()
	return st.Marshal()
}

// baseStatus is the caller's status, or what the link knows.
func (l *Link) baseStatus() ticket.Status {
	if l.opts.Status != nil {
		return l.opts.Status()
	}
	var st ticket.Status
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if s, err := l.opts.Outbox.Stats(ctx); err == nil {
		st.BufferDepth = s.Depth
		if !s.OldestUnsent.IsZero() {
			st.OldestUnsentAgeS = max(time.Since(s.OldestUnsent).Seconds(), 0)
		}
	}
	return st
}
