package serve

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
	"github.com/fenghuo-iot/fenghuo/uplink/station/store"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// Bounds of the ingestion queue.
const (
	queueLen = 256 // messages between paho's router and the writer
	maxBatch = 256 // messages committed in one transaction
)

// item is one received message waiting for its commit.
type item struct {
	msg  store.Message
	skip bool // nothing to store (an empty retained status): only acked
	ack  func()
}

// ingester parses what paho delivers, queues it, commits it in batches and
// acknowledges each message only after its batch is committed.
type ingester struct {
	st     store.Ingester
	v      *validator
	prefix string
	queue  chan item
	log    func(format string, args ...any)
	// onCommit, when set, is called after each committed batch (the
	// webhook's wake-up).
	onCommit func()

	stored, dups, rejected atomic.Uint64

	// the writer's own: rate limit of the rejected log
	logWindow        time.Time
	logged, unlogged int
}

func newIngester(st store.Ingester, v *validator, prefix string, log func(string, ...any)) *ingester {
	return &ingester{st: st, v: v, prefix: strings.TrimSuffix(prefix, "/") + "/", queue: make(chan item, queueLen), log: log}
}

// handler is paho's message handler (called in order by paho's router):
// it parses and queues; the broker's PUBACK waits for the commit.
func (in *ingester) handler(ctx context.Context) paho.MessageHandler {
	return func(_ paho.Client, m paho.Message) {
		it := in.parse(m.Topic(), m.Payload(), m.Retained(), time.Now())
		it.ack = m.Ack
		select {
		case in.queue <- it:
		case <-ctx.Done(): // not acked: the broker delivers it again
		}
	}
}

var (
	townshipRE = regexp.MustCompile(`^\d{9}$`)
	gatewayRE  = regexp.MustCompile(`^[a-z0-9-]{3,64}$`)
)

// parse turns one message into what the store keeps; a message that is not
// valid is kept as rejected with the reason.
func (in *ingester) parse(topic string, payload []byte, retained bool, rx time.Time) item {
	m := store.Message{Topic: topic, Rx: rx, Retained: retained, Payload: payload}
	rest, ok := strings.CutPrefix(topic, in.prefix)
	parts := strings.Split(rest, "/")
	if !ok || len(parts) != 3 {
		m.Reject = "topic is not P/T/G/leaf"
		return item{msg: m}
	}
	m.Township, m.Gateway = parts[0], parts[1]
	switch {
	case !townshipRE.MatchString(m.Township):
		m.Reject = "topic: township is not a 9-digit code"
	case !gatewayRE.MatchString(m.Gateway):
		m.Reject = "topic: gateway id is not [a-z0-9-]{3,64}"
	case len(payload) > store.MaxPayload:
		m.Reject = fmt.Sprintf("payload of %d bytes exceeds %d", len(payload), store.MaxPayload)
	}
	if m.Reject != "" {
		return item{msg: m}
	}
	switch parts[2] {
	case "tickets":
		m.Kind = store.KindTicket
		in.parseTicket(&m)
	case "status":
		if len(payload) == 0 {
			return item{msg: m, skip: true} // a retained status being cleared
		}
		m.Kind = store.KindStatus
		in.parseStatus(&m)
	case "telemetry":
		m.Kind = store.KindTelemetry
	default:
		return item{msg: m, skip: true}
	}
	return item{msg: m}
}

func (in *ingester) parseTicket(m *store.Message) {
	if err := check(in.v.ticket, m.Payload); err != nil {
		m.Reject = "ticket " + err.Error()
		return
	}
	t, err := ticket.Parse(m.Payload)
	if err != nil {
		m.Reject = "ticket: " + err.Error()
		return
	}
	m.Ticket = &t
}

func (in *ingester) parseStatus(m *store.Message) {
	if !bytes.Contains(m.Payload, []byte(ticket.StatusSchema)) {
		m.Reject = "status: schema is not " + ticket.StatusSchema
		return
	}
	if err := check(in.v.status, m.Payload); err != nil {
		m.Reject = "status " + err.Error()
		return
	}
	s, err := ticket.ParseStatus(m.Payload)
	if err != nil {
		m.Reject = "status: " + err.Error()
		return
	}
	if s.Gateway != m.Gateway {
		m.Reject = fmt.Sprintf("status: gateway_id %q does not match the topic's gateway %q", s.Gateway, m.Gateway)
		return
	}
	m.Status = &s
}

// run commits queued messages in batches until ctx is done. A failed
// commit is retried (with backoff up to 5 s); its messages stay unacked.
func (in *ingester) run(ctx context.Context) {
	batch := make([]item, 0, maxBatch)
	for {
		select {
		case it := <-in.queue:
			batch = append(batch[:0], it)
		case <-ctx.Done():
			return
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case it := <-in.queue:
				batch = append(batch, it)
			default:
				break fill
			}
		}
		if !in.commit(ctx, batch) {
			return
		}
	}
}

// commit stores batch and acks it; false when ctx ended first.
func (in *ingester) commit(ctx context.Context, batch []item) bool {
	msgs := make([]store.Message, 0, len(batch))
	for _, it := range batch {
		if !it.skip {
			msgs = append(msgs, it.msg)
		}
	}
	wait := 100 * time.Millisecond
	for {
		out, err := in.st.Ingest(ctx, msgs)
		if err == nil {
			in.count(out, msgs)
			break
		}
		in.log("station serve: store: %v (retrying in %s; the %d messages stay unacknowledged)", err, wait, len(msgs))
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
	for _, it := range batch {
		if it.ack != nil {
			it.ack()
		}
	}
	if in.onCommit != nil {
		in.onCommit()
	}
	return true
}

func (in *ingester) count(out []store.Outcome, msgs []store.Message) {
	for i, o := range out {
		switch o {
		case store.Stored:
			in.stored.Add(1)
		case store.Duplicate:
			in.dups.Add(1)
		case store.Rejected:
			in.rejected.Add(1)
			in.logRejected(msgs[i], time.Now())
		}
	}
}

// rejectLogs is how many refused messages are logged per minute; the rest
// are counted (GET /api/rejected lists them all).
const rejectLogs = 10

// logRejected logs a refused message, at most rejectLogs a minute.
func (in *ingester) logRejected(m store.Message, now time.Time) {
	if now.Sub(in.logWindow) >= time.Minute {
		if in.unlogged > 0 {
			in.log("station serve: %d more messages rejected in the last minute (not logged; GET /api/rejected)", in.unlogged)
		}
		in.logWindow, in.logged, in.unlogged = now, 0, 0
	}
	if in.logged >= rejectLogs {
		in.unlogged++
		return
	}
	in.logged++
	reason := m.Reject
	if reason == "" {
		reason = "see GET /api/rejected"
	}
	in.log("station serve: rejected a message on %s: %s", sanitize.Line(m.Topic), sanitize.Line(reason))
}
