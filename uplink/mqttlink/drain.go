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

// errLost says paho reported the connection lost.
var errLost = errors.New("connection lost")

// linkError marks a failure of the MQTT session (as opposed to the outbox).
type linkError struct{ err error }

func (e *linkError) Error() string { return e.err.Error() }
func (e *linkError) Unwrap() error { return e.err }

// session runs one connected session until ctx is done (nil), the
// connection fails (an error) or the endpoint changes (errRedial: the
// command being handled finishes and its reply is published first).
func (l *Link) session(ctx context.Context, c paho.Client, ep *endpoint, lost <-chan struct{}, cmds chan cmdMsg) error {
	l.setConnected(true, ep)
	// The cmd subscription comes first, so a station that sees the
	// online status can send commands.
	if err := l.subscribeCmds(c, cmds); err != nil {
		return err
	}
	cmdCtx, stopCmds := context.WithCancel(ctx)
	defer stopCmds()
	served := make(chan struct{})
	go func() { defer close(served); l.serveCmds(cmdCtx, c, cmds) }()
	err := l.serve(ctx, c, ep, lost)
	if errors.Is(err, errRedial) {
		// The config command that moved the link is answered on this
		// connection, before Run disconnects it.
		stopCmds()
		<-served
	}
	return err
}

// serve publishes the online status, then drains the outbox whenever
// records are appended, and at every poll and heartbeat.
func (l *Link) serve(ctx context.Context, c paho.Client, ep *endpoint, lost <-chan struct{}) error {
	if err := l.publishStatus(c, ticket.StatusOnline); err != nil {
		return err
	}
	l.log.Info("uplink: connected", "broker", ep.broker, "client_id", ep.o.ClientID, "status_topic", l.topics.Status(), "cmd_topic", l.topics.Cmd())
	hb := time.NewTicker(l.opts.Heartbeat)
	defer hb.Stop()
	poll := time.NewTicker(l.opts.PollInterval)
	defer poll.Stop()
	for {
		if err := l.drain(ctx, c, ep, lost, hb); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-lost:
			return errLost
		case <-l.redial:
			if l.moved(ep) {
				return errRedial
			}
		case <-l.notify:
		case <-poll.C:
		case <-hb.C:
			if err := l.publishStatus(c, ticket.StatusOnline); err != nil {
				return err
			}
		}
	}
}

// drain publishes pending records until none is left, with up to Window
// QoS 1 publishes awaiting their PUBACK (a sliding window: a new record is
// published as soon as the oldest in flight is acknowledged, so the broker
// never waits on a delayed TCP ACK).
//
// Records are read from the outbox a chunk at a time (fetchChunk) and marked
// sent in publish order, two windows of acknowledged records per outbox
// transaction, and whenever nothing is left in flight: a backlog costs one
// read per chunk and one commit per two windows, while a live event is
// marked as soon as its PUBACK arrives. An acknowledged record not yet
// marked is published again after a crash (at most two windows more
// duplicates; at-least-once, stations dedup by event_id). Outbox errors are
// logged and retried at the next poll; link errors end the session, and
// whatever was in flight is published again after reconnect. Notify (an
// Append) drops the chunk read so far, so a level-1 ticket appended during
// a replay overtakes the backlog after at most one window.
func (l *Link) drain(ctx context.Context, c paho.Client, ep *endpoint, lost <-chan struct{}, hb *time.Ticker) error {
	var (
		queue    []outbox.Record // read from the outbox, not yet published
		inflight []flight        // published, awaiting PUBACK, in publish order
		acked    []outbox.Record // acknowledged, not yet marked sent
		busy     = map[uint64]bool{}
	)
	markBatch := 2 * l.opts.Window
	mark := func() error {
		if len(acked) == 0 {
			return nil
		}
		err := l.markSent(acked, time.Now())
		if err != nil {
			l.log.Error("uplink: outbox update failed; the records will be published again", "from_seq", acked[0].Seq, "err", err)
		}
		for _, r := range acked {
			delete(busy, r.Seq)
		}
		acked = acked[:0]
		return err
	}
	// Acknowledged records are marked even when the session ends.
	defer func() { _ = mark() }()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
			return nil
		case <-lost:
			return errLost
		case <-l.redial:
			if l.moved(ep) {
				return errRedial // in flight: published again after the move
			}
		case <-hb.C:
			if err := l.publishStatus(c, ticket.StatusOnline); err != nil {
				return err
			}
		case <-l.notify:
			queue = nil // new records: read again, in priority order
		default:
		}
		free := l.opts.Window - len(inflight)
		if free > 0 && len(queue) == 0 {
			recs, err := l.opts.Outbox.Pending(ctx, fetchChunk+len(busy))
			if err != nil {
				if ctx.Err() == nil {
					l.log.Error("uplink: outbox read failed; retrying", "err", err)
				}
				if len(inflight) == 0 {
					return nil
				}
			}
			queue = queue[:0]
			for _, r := range recs {
				if !busy[r.Seq] {
					queue = append(queue, r)
				}
			}
		}
		if free > 0 && len(queue) > 0 {
			now := time.Now()
			n := min(free, len(queue))
			for _, r := range queue[:n] {
				busy[r.Seq] = true
				inflight = append(inflight, l.publishRecord(c, r, now))
			}
			queue = queue[n:]
		}
		if len(inflight) == 0 {
			return nil // nothing pending: marked by the deferred mark
		}
		// Wait for the oldest, then take every acknowledged one behind it.
		n := 0
		for ; n < len(inflight); n++ {
			f := inflight[n]
			if f.tok == nil {
				continue // skipped: nothing to wait for
			}
			if n == 0 {
				if err := awaitAck(f, lost, l.opts.AckTimeout); err != nil {
					return err
				}
				l.noteRoundTrip(f)
			} else if !isDone(f.tok) {
				break
			}
			if err := f.tok.Error(); err != nil {
				return &linkError{fmt.Errorf("publish seq %d: %w", f.rec.Seq, err)}
			}
		}
		for _, f := range inflight[:n] {
			acked = append(acked, f.rec)
		}
		inflight = inflight[n:]
		if len(acked) >= markBatch || len(inflight) == 0 {
			if err := mark(); err != nil {
				return nil // retried at the next poll
			}
		}
	}
	return nil
}

// awaitAck waits for f's PUBACK. A connection reported lost ends the wait
// at once: paho does not complete the publish tokens of a persistent
// session when the connection drops, so the wait would otherwise last
// AckTimeout, and every gateway busy when its broker restarted would come
// back 10 s later, all together.
func awaitAck(f flight, lost <-chan struct{}, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-f.tok.Done():
		return nil
	case <-lost:
		if isDone(f.tok) {
			return nil
		}
		return errLost
	case <-t.C:
		return &linkError{fmt.Errorf("publish seq %d: no PUBACK within %s", f.rec.Seq, timeout)}
	}
}

// fetchChunk is how many pending records drain reads from the outbox at a
// time; reading before every publish cost as much as the publish itself.
const fetchChunk = 256

func isDone(tok paho.Token) bool {
	select {
	case <-tok.Done():
		return true
	default:
		return false
	}
}

// flight is one publish awaiting its PUBACK; tok is nil for a record that
// is skipped (unpublishable).
type flight struct {
	rec  outbox.Record
	tok  paho.Token
	sent time.Time // when it was published
}

// noteRoundTrip keeps publish → PUBACK of the oldest flight, waited for
// as it arrived (the health report's uplink round trip).
func (l *Link) noteRoundTrip(f flight) {
	if f.sent.IsZero() || f.tok.Error() != nil {
		return
	}
	rtt := time.Since(f.sent)
	l.mu.Lock()
	l.lastRTT = rtt
	l.mu.Unlock()
}

// LastRoundTrip is the last measured publish → PUBACK time; 0 before one.
func (l *Link) LastRoundTrip() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastRTT
}

// publishRecord stamps and publishes one record at QoS 1 without waiting.
func (l *Link) publishRecord(c paho.Client, r outbox.Record, now time.Time) flight {
	topic, payload := l.topics.Telemetry(), r.Payload
	if r.IsTicket() {
		topic = l.topics.Tickets()
		var err error
		if payload, err = ticket.Stamp(r.Payload, r.Seq, now, l.buffered(r, now)); err != nil {
			// A record that cannot be stamped would block the queue forever:
			// it is kept in the outbox for diagnosis and skipped.
			l.log.Error("uplink: UNPUBLISHABLE record skipped (kept in the outbox)", "seq", r.Seq, "event_id", r.EventID, "err", err)
			return flight{rec: r}
		}
		if r.NotDurable {
			// Kept in memory only (a storage fault): the station is told.
			if payload, err = ticket.MarkNotDurable(payload); err != nil {
				l.log.Error("uplink: UNPUBLISHABLE record skipped", "seq", r.Seq, "event_id", r.EventID, "err", err)
				return flight{rec: r}
			}
		}
	}
	return flight{rec: r, tok: c.Publish(topic, 1, false, payload), sent: time.Now()}
}

func (l *Link) markSent(recs []outbox.Record, at time.Time) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	seqs := make([]uint64, len(recs))
	ticketAcked := false
	for i, r := range recs {
		seqs[i] = r.Seq
		ticketAcked = ticketAcked || r.IsTicket()
	}
	if err := l.opts.Outbox.MarkSent(ctx, at, seqs...); err != nil {
		return err
	}
	l.mu.Lock()
	l.lastPublish = at
	if ticketAcked {
		l.lastTicketAck = l.opts.Now()
	}
	l.mu.Unlock()
	if l.opts.OnPublished != nil {
		for _, r := range recs {
			l.opts.OnPublished(r, at)
		}
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
	st.TransmissionFault = st.TransmissionFault || l.fault.Load()
	if st.LastAck == nil {
		l.mu.Lock()
		st.LastAck = l.lastAck
		l.mu.Unlock()
	}
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
		st.Dropped = ticket.Dropped{Tickets: s.DroppedTickets, Telemetry: s.DroppedTelemetry}
	}
	return st
}
