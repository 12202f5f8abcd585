// Package station is the reference township subscriber: it watches the
// ticket feed of one township (or all), deduplicates by event_id, detects
// seq gaps per gateway and prints readable lines; Ack sends the downlink
// acknowledgement. It shows township developers how to consume
// docs/tickets.md correctly.
package station

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// Options configures a Watcher. Broker is required.
type Options struct {
	Broker      string
	TopicPrefix string // default "fenghuo/v1"
	Township    string // township code; "" or "+" watches all townships
	// ClientID, when set, makes the session persistent: the broker keeps
	// the subscription and queues tickets while the station is away.
	// Empty: a random id and a clean session.
	ClientID           string
	Username, Password string
	JSON               bool      // print each new ticket raw, one per line
	Out                io.Writer // nil: io.Discard
	// OnTicket is called once per event_id (duplicates are only counted).
	OnTicket func(ticket.Ticket)
	OnStatus func(ticket.Status)
	// Telemetry also subscribes P/T/+/telemetry and prints each message
	// (OnTelemetry sees it parsed).
	Telemetry   bool
	OnTelemetry func(ticket.Telemetry)
	// OnMessage, when set, sees every message as received, before it is
	// parsed (tests validate the raw payloads against the JSON Schema).
	OnMessage func(topic string, payload []byte)
}

// Counters are the watcher's running totals.
type Counters struct {
	Received   uint64 // distinct tickets
	Duplicates uint64 // tickets whose event_id was already seen
	Gaps       uint64 // gaps opened
	GapsFilled uint64 // gaps filled later
	OpenGaps   int    // seq ranges still missing, over all gateways
	Statuses   uint64
	Telemetry  uint64 // telemetry messages (with Options.Telemetry)
	Health     uint64 // health reports (with Options.Telemetry)
	Invalid    uint64 // payloads that did not parse
}

// Watcher consumes the feed. Handle is safe for concurrent use.
type Watcher struct {
	opts Options
	mu   sync.Mutex
	seen *dedup
	seqs map[string]*seqTracker
	c    Counters

	ready     chan struct{}
	readyOnce sync.Once
}

// NewWatcher builds a watcher; Run connects it.
func NewWatcher(opts Options) *Watcher {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Township == "" {
		opts.Township = "+"
	}
	return &Watcher{opts: opts, seen: newDedup(100_000), seqs: map[string]*seqTracker{}, ready: make(chan struct{})}
}

// Watch runs a watcher until ctx is done.
func Watch(ctx context.Context, opts Options) error {
	return NewWatcher(opts).Run(ctx)
}

// Counters returns a snapshot of the totals.
func (w *Watcher) Counters() Counters {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.c
	for _, t := range w.seqs {
		c.OpenGaps += len(t.open())
	}
	return c
}

// Topics are the subscriptions: P/T/+/tickets and P/T/+/status, and
// P/T/+/telemetry with Options.Telemetry.
func (w *Watcher) Topics() []string {
	tp := ticket.Topics{Prefix: w.opts.TopicPrefix, Township: w.opts.Township, Gateway: "+"}
	if w.opts.Telemetry {
		return []string{tp.Tickets(), tp.Status(), tp.Telemetry()}
	}
	return []string{tp.Tickets(), tp.Status()}
}

// Run connects (reconnecting automatically), subscribes at QoS 1 and
// handles messages until ctx is done. It returns an error only when the
// first connection fails.
func (w *Watcher) Run(ctx context.Context) error {
	if w.opts.Broker == "" {
		return errors.New("station: Broker is required")
	}
	id, clean := w.opts.ClientID, false
	if id == "" {
		id, clean = "fenghuo-station-"+randomHex(6), true
	}
	subs := map[string]byte{}
	for _, t := range w.Topics() {
		subs[t] = 1
	}
	o := paho.NewClientOptions().AddBroker(w.opts.Broker).SetClientID(id).SetCleanSession(clean).
		SetAutoReconnect(true).SetMaxReconnectInterval(10 * time.Second).SetOrderMatters(true).
		SetOnConnectHandler(func(c paho.Client) { go w.subscribe(c, subs) })
	if w.opts.Username != "" {
		o.SetUsername(w.opts.Username).SetPassword(w.opts.Password)
	}
	c := paho.NewClient(o)
	if err := wait(ctx, c.Connect()); err != nil {
		return fmt.Errorf("station: connect %s: %w", w.opts.Broker, err)
	}
	<-ctx.Done()
	c.Disconnect(250)
	return nil
}

// Ready is closed once the first subscription is acknowledged.
func (w *Watcher) Ready() <-chan struct{} { return w.ready }

// subscribe (re)subscribes after every connect and reports a failure.
func (w *Watcher) subscribe(c paho.Client, subs map[string]byte) {
	tok := c.SubscribeMultiple(subs, func(_ paho.Client, m paho.Message) {
		w.HandleMessage(m.Topic(), m.Payload(), m.Retained(), time.Now())
	})
	if !tok.WaitTimeout(30 * time.Second) {
		w.report("station: subscribe: no SUBACK within 30 s")
		return
	}
	if err := tok.Error(); err != nil {
		w.report("station: subscribe: " + err.Error())
		return
	}
	w.readyOnce.Do(func() { close(w.ready) })
}

func (w *Watcher) report(msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	fmt.Fprintln(w.opts.Out, sanitize.Line(msg))
}

// Handle processes one live message from topic .../tickets or .../status,
// received now.
func (w *Watcher) Handle(topic string, payload []byte) {
	w.HandleMessage(topic, payload, false, time.Now())
}

// HandleMessage processes one message received at rx; retained says the
// broker delivered it from its retained store.
func (w *Watcher) HandleMessage(topic string, payload []byte, retained bool, rx time.Time) {
	if w.opts.OnMessage != nil {
		w.opts.OnMessage(topic, payload)
	}
	parts := strings.Split(topic, "/")
	if len(parts) < 3 {
		return
	}
	gw := sanitize.Line(parts[len(parts)-2]) // a topic level: anyone with broker access names it
	switch parts[len(parts)-1] {
	case "tickets":
		w.handleTicket(gw, payload)
	case "status":
		w.handleStatus(gw, payload, retained, rx)
	case "telemetry":
		w.handleTelemetry(gw, payload)
	}
}

func (w *Watcher) handleTelemetry(gw string, payload []byte) {
	if bytes.Contains(payload, []byte(`"`+ticket.HealthSchema+`"`)) {
		w.handleHealth(gw, payload)
		return
	}
	t, err := ticket.ParseTelemetry(payload)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.c.Invalid++
		fmt.Fprintf(w.opts.Out, "invalid telemetry from %s: %v\n", gw, err)
		return
	}
	w.c.Telemetry++
	if w.opts.JSON {
		fmt.Fprintf(w.opts.Out, "%s\n", payload)
	} else {
		fmt.Fprintln(w.opts.Out, TelemetryLine(t))
	}
	if w.opts.OnTelemetry != nil {
		w.opts.OnTelemetry(t)
	}
}

// handleHealth prints the gateway's periodic health report (it shares the
// telemetry topic).
func (w *Watcher) handleHealth(gw string, payload []byte) {
	h, err := ticket.ParseHealth(payload)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.c.Invalid++
		fmt.Fprintf(w.opts.Out, "invalid health report from %s: %v\n", gw, err)
		return
	}
	w.c.Health++
	if w.opts.JSON {
		fmt.Fprintf(w.opts.Out, "%s\n", payload)
	} else {
		fmt.Fprintln(w.opts.Out, HealthLine(h))
	}
}

func (w *Watcher) handleTicket(gw string, payload []byte) {
	t, err := ticket.Parse(payload)
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.opts.Out
	if err != nil || t.EventID == "" {
		w.c.Invalid++
		fmt.Fprintf(out, "invalid ticket from %s: %s\n", gw, sanitize.Line(fmt.Sprint(err)))
		return
	}
	if !w.seen.add(t.EventID) {
		w.c.Duplicates++
		return
	}
	w.c.Received++
	if w.opts.JSON {
		fmt.Fprintf(out, "%s\n", jsonLine(payload))
	} else {
		fmt.Fprintln(out, TicketLine(t))
	}
	w.trackSeq(gw, t.Seq)
	if w.opts.OnTicket != nil {
		w.opts.OnTicket(t)
	}
}

// jsonLine is a ticket's JSON as one line a terminal shows as text:
// compacted (a pretty-printed or padded payload would break one line per
// ticket) and with controls inside strings as \u escapes.
func jsonLine(payload []byte) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, payload); err != nil {
		return []byte(sanitize.Line(string(payload))) // ticket.Parse took it, so this does not happen
	}
	return sanitize.JSON(b.Bytes())
}

// trackSeq updates the gateway's seq tracker and reports gaps (text mode).
func (w *Watcher) trackSeq(gw string, seq uint64) {
	tr := w.seqs[gw]
	if tr == nil {
		tr = &seqTracker{}
		w.seqs[gw] = tr
	}
	ev := tr.add(seq)
	if ev.opened != nil {
		w.c.Gaps++
		if !w.opts.JSON {
			fmt.Fprintf(w.opts.Out, "         ! gap: %s seq %s missing (may still arrive: level-1 tickets overtake)\n", gw, ev.opened)
		}
	}
	if ev.filled != nil {
		w.c.GapsFilled++
		if !w.opts.JSON {
			fmt.Fprintf(w.opts.Out, "         ✓ gap filled: %s seq %s\n", gw, ev.filled)
		}
	}
}

func (w *Watcher) handleStatus(gw string, payload []byte, retained bool, rx time.Time) {
	if len(payload) == 0 {
		return // a retained status being cleared: nothing to show
	}
	s, err := ticket.ParseStatus(payload)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil && (s.Gateway == "" || (s.State != ticket.StatusOnline && s.State != ticket.StatusOffline)) {
		err = errors.New("no gateway_id or unknown state")
	}
	if err != nil {
		w.c.Invalid++
		if !w.opts.JSON {
			fmt.Fprintf(w.opts.Out, "invalid status from %s: %s\n", gw, sanitize.Line(err.Error()))
		}
		return
	}
	w.c.Statuses++
	if !w.opts.JSON {
		fmt.Fprintln(w.opts.Out, StatusLine(s, rx, retained))
	}
	if w.opts.OnStatus != nil {
		w.opts.OnStatus(s)
	}
}

// Ack publishes {"id","cmd":"ack","ticket_id","by"} on P/T/G/cmd at QoS 1
// and waits for the PUBACK.
func Ack(ctx context.Context, broker, prefix, township, gateway, ticketID, by string) error {
	if township == "" || gateway == "" || ticketID == "" || strings.ContainsAny(township+gateway, "+#/") {
		return errors.New("station: ack needs a township code, a gateway id (no wildcards) and a ticket id")
	}
	cmd := ackCmd{ID: randomHex(8), Cmd: "ack", TicketID: ticketID, By: by}
	payload, err := cmd.marshal()
	if err != nil {
		return err
	}
	c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("fenghuo-ack-" + randomHex(6)).SetCleanSession(true))
	if err := wait(ctx, c.Connect()); err != nil {
		return fmt.Errorf("station: connect %s: %w", broker, err)
	}
	defer c.Disconnect(250)
	topic := ticket.Topics{Prefix: prefix, Township: township, Gateway: gateway}.Cmd()
	if err := wait(ctx, c.Publish(topic, 1, false, payload)); err != nil {
		return fmt.Errorf("station: publish %s: %w", topic, err)
	}
	return nil
}

// wait waits for a paho token or ctx.
func wait(ctx context.Context, tok paho.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("station: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}
