// Package mqttlink drains the outbox to the township broker over MQTT: the
// only package that publishes with paho.
//
// Delivery: records are taken from the outbox in Pending order (level-1
// tickets, other tickets, telemetry; seq within each), stamped, published
// at QoS 1 with up to Options.Window publishes awaiting their PUBACK, and
// marked sent, in order, only after the broker's PUBACK.
// The outbox is the source of truth for the uplink: after a reconnect,
// whatever was not acknowledged is published again from the outbox with
// the same event_id (at-least-once; stations dedup by event_id).
//
// Session: persistent (clean_session false, the client id stays the
// gateway id), so the broker keeps the cmd subscription and queues QoS 1
// commands while the gateway is offline: a township ack sent during an
// outage is delivered when the gateway reconnects instead of being lost.
// The uplink does not use the session: paho's store is in memory and new
// for every connection, so paho never resends a publish on its own, and
// there is no second queue on the gateway to disagree with the outbox.
// [Options.CleanSession] restores a clean session.
//
// Downlink: P/T/G/cmd is subscribed on every connect; ack, ping and diag
// are answered on P/T/G/reply (see uplink/downlink). R25: a transmission
// fault is raised when a ticket waited Options.FaultAfter without PUBACK.
// Bounds: with Options.MaxSize the link enforces the outbox's size and
// prunes delivered records past retention (outbox.Maintainer).
//
// Moving: SetConnection (endpoint.go) changes the broker, identity,
// credentials or TLS files of a running link; it says offline on the old
// broker and connects with the new settings at once (a config reload).
//
// Presence: the last will is the retained offline status on P/T/G/status;
// a retained online status is published on connect and every Heartbeat,
// and a retained offline status on a clean shutdown.
package mqttlink

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
	"golang.org/x/net/proxy"

	"github.com/fenghuo-iot/fenghuo/uplink/backoff"
	"github.com/fenghuo-iot/fenghuo/uplink/downlink"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// Link publishes one gateway's outbox. Create it with [New], run it with
// [Link.Run]; the other methods are safe to call from any goroutine.
type Link struct {
	opts   Options
	log    *slog.Logger
	topics Topics
	// ep is where and as whom the link connects (endpoint.go): set by
	// New, replaced by SetConnection, which then kicks redial.
	ep      atomic.Pointer[endpoint]
	redial  chan struct{}
	notify  chan struct{}
	started time.Time
	running atomic.Bool

	mu             sync.Mutex
	connected      bool
	connectedSince time.Time
	sessionEp      *endpoint // the endpoint of the session, while connected
	lastPublish    time.Time
	lastTicketAck  time.Time         // last ticket PUBACK (Options.Now)
	lastAck        *ticket.StatusAck // last township ack
	// clockOffset is the gateway's clock minus the platform's, from the
	// last ping that carried the platform's time (clockKnown).
	clockOffset time.Duration
	clockKnown  bool
	lastRTT     time.Duration // publish → PUBACK of the last record waited for
	kicks       []time.Time   // broker closes right after connecting (takeover.go)
	conflict    bool          // client id conflict suspected
	conflicts   uint64        // its onsets

	fault  atomic.Bool   // R25 raised
	faults atomic.Uint64 // R25 onsets
	cmdN   atomic.Uint64 // downlink commands handled
	cmdBad atomic.Uint64 // of which rejected

	cuts        cutNotes // publishes emptied by sizeConn
	guard       *downlink.Guard
	limiter     *downlink.Limiter
	acks        chan cmdMsg // admitted acks, kept across reconnects
	cmdTooLarge atomic.Uint64
	cmdLimited  atomic.Uint64

	refuseMu      sync.Mutex
	logBudget     downlink.Bucket
	replyBudget   downlink.Bucket
	logSuppressed uint64
}

// New checks the options and builds a Link; it does not connect.
func New(opts Options) (*Link, error) {
	opts.defaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	ep, err := newEndpoint(opts)
	if err != nil {
		return nil, err
	}
	l := &Link{
		opts:        opts,
		log:         opts.Logger.With("component", "uplink"),
		topics:      Topics{Prefix: opts.TopicPrefix, Township: opts.TownshipCode, Gateway: opts.GatewayID},
		redial:      make(chan struct{}, 1),
		notify:      make(chan struct{}, 1),
		started:     opts.Now(),
		guard:       downlink.NewGuard(opts.CmdKey),
		limiter:     downlink.NewLimiter(),
		acks:        make(chan cmdMsg, ackQueue),
		logBudget:   downlink.Bucket{Rate: logRate, Burst: logBurst},
		replyBudget: downlink.Bucket{Rate: replyRate, Burst: replyBurst},
	}
	l.ep.Store(ep)
	return l, nil
}

// Topics returns the link's topics.
func (l *Link) Topics() Topics { return l.topics }

// Notify wakes the drainer after records were appended. It never blocks.
func (l *Link) Notify() {
	select {
	case l.notify <- struct{}{}:
	default:
	}
}

// Connected reports whether the link has a live broker session.
func (l *Link) Connected() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.connected
}

// LastPublish is when the last record was acknowledged; zero before.
func (l *Link) LastPublish() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastPublish
}

// setConnected records a session with ep starting (on) or ending.
func (l *Link) setConnected(on bool, ep *endpoint) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.connected, l.sessionEp = on, nil
	if on {
		l.connectedSince, l.sessionEp = time.Now(), ep
	}
}

// Run connects, keeps the link up with jittered exponential backoff (and
// the connect spread of Options.ConnectSpread, spread.go) and drains the
// outbox until ctx is done; then it publishes the offline status
// and disconnects. It returns nil after a clean stop. Connection failures
// are logged, never returned: the events wait in the outbox.
func (l *Link) Run(ctx context.Context) error {
	if !l.running.CompareAndSwap(false, true) {
		return errors.New("mqttlink: Run is already running")
	}
	defer l.running.Store(false)
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() { defer close(watched); l.watch(watchCtx) }()
	defer func() { stopWatch(); <-watched }()
	bo := backoff.Backoff{Min: l.opts.MinBackoff, Max: l.opts.MaxBackoff}
	failures := 0      // consecutive failed connection attempts
	sl := l.newSlots() // the first connect is spread (spread.go)
	for ctx.Err() == nil {
		if l.spreadWait(ctx, sl) {
			sl = nil // moved (SetConnection): connect at once
		}
		if ctx.Err() != nil {
			break // stopped during the wait: no attempt after the stop
		}
		ep := l.endpoint()
		c, lost, cmds, err := l.connect(ctx, ep)
		if err != nil {
			if ctx.Err() == nil {
				failures++
				if l.connectFailed(ctx, ep, err, failures, bo.Next()) {
					failures, sl = 0, nil // moved: a new endpoint's first attempt
					bo.Reset()
				}
			}
			continue
		}
		failures, sl = 0, nil
		bo.Reset()
		err = l.session(ctx, c, ep, lost.done, cmds)
		l.setConnected(false, nil)
		if ctx.Err() != nil {
			l.shutdown(c, ep)
			return nil
		}
		if errors.Is(err, errRedial) {
			l.shutdown(c, ep) // offline on the old broker; the next attempt uses the new endpoint
			continue
		}
		// Spread again only when the broker closed the connection (a
		// restart): not after the link's own retry of a failed publish.
		byBroker := lost.byBroker(c.IsConnectionOpen())
		l.log.Warn("uplink: connection lost; events stay in the outbox and are replayed after reconnect", "broker", ep.broker,
			"err", err, "closed_by_broker", byBroker)
		c.Disconnect(0)
		if l.wait(ctx, bo.Next()) {
			bo.Reset()
			continue // moved: connect at once
		}
		if byBroker {
			sl = l.newSlots()
		}
	}
	return nil
}

// connectFailed logs one failed attempt, saying why in words an installer
// can act on, and waits before the next; redial reports that the wait
// ended because the endpoint changed. The password is never logged.
func (l *Link) connectFailed(ctx context.Context, ep *endpoint, err error, attempt int, wait time.Duration) (redial bool) {
	l.log.Warn(failureMessage(err, ep.tlsURL), "broker", ep.broker, "client_id", ep.o.ClientID, "username", ep.o.Username,
		"attempt", attempt, "err", err, "retry_in", wait.Round(time.Millisecond))
	return l.wait(ctx, wait)
}

// failureMessage classifies a failed connection attempt; overTLS says the
// broker URL has a TLS scheme.
func failureMessage(err error, overTLS bool) string {
	const tail = "; events stay in the outbox and the link keeps retrying"
	var (
		verify    *tls.CertificateVerificationError
		authority x509.UnknownAuthorityError
		host      x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	switch {
	case errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword), errors.Is(err, packets.ErrorRefusedNotAuthorised):
		return "uplink: broker REFUSED the connection: not authorized (check username and password)" + tail
	case errors.Is(err, packets.ErrorRefusedIDRejected):
		return "uplink: broker REFUSED the connection: client id rejected (check client_id)" + tail
	case errors.Is(err, packets.ErrorRefusedBadProtocolVersion), errors.Is(err, packets.ErrorRefusedServerUnavailable):
		return "uplink: broker REFUSED the connection: " + refusal(err) + tail
	case errors.As(err, &host):
		return "uplink: TLS: the broker's certificate does not name this host (check the broker URL)" + tail
	case errors.As(err, &verify), errors.As(err, &authority), errors.As(err, &invalid):
		return "uplink: TLS: the broker's certificate is NOT TRUSTED (set ca_file to the CA that signed it)" + tail
	case strings.Contains(err.Error(), "remote error: tls:"), // a TLS alert from the broker (tls.alert is unexported)
		// With TLS 1.3 the broker checks the client certificate after the
		// client's handshake is done: its reset can beat its alert.
		overTLS && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF)):
		return "uplink: TLS: the broker rejected the handshake (does it require a client certificate? check cert_file, key_file)" + tail
	}
	return "uplink: cannot reach the broker" + tail
}

func refusal(err error) string {
	for _, r := range []error{packets.ErrorRefusedBadProtocolVersion, packets.ErrorRefusedServerUnavailable} {
		if errors.Is(err, r) {
			return strings.ToLower(r.Error())
		}
	}
	return err.Error()
}

func brokerTLS(s string) bool {
	u, err := url.Parse(s)
	return err == nil && IsTLSScheme(u.Scheme)
}

// connect opens one MQTT connection with the offline status as will.
// lost is set when paho reports the connection lost; cmds receives the
// downlink commands, including those the broker queued in the persistent
// session while the gateway was offline, which arrive right after CONNACK.
func (l *Link) connect(ctx context.Context, ep *endpoint) (paho.Client, *loss, chan cmdMsg, error) {
	will, err := l.statusPayload(ticket.StatusOffline)
	if err != nil {
		return nil, nil, nil, err
	}
	lost := newLoss()
	var connAt atomic.Int64 // when CONNACK arrived (takeover.go)
	connAt.Store(time.Now().UnixNano())
	o := ep.o.pahoOptions(ep.tls).
		SetBinaryWill(l.topics.Status(), will, 1, true).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			l.log.Debug("uplink: paho reports the connection lost", "err", err)
			l.noteLoss(time.Unix(0, connAt.Load()), time.Now(), err)
			lost.set(err)
		})
	// Every connection is opened here, so incoming packets are bounded
	// on the wire (sizeConn) before paho reads them.
	o.SetCustomOpenConnectionFn(func(u *url.URL, po paho.ClientOptions) (net.Conn, error) { return l.openConn(ep, u, po) })
	c := paho.NewClient(o)
	// The route exists before CONNACK, so queued commands are not lost to
	// paho's default handler.
	cmds := make(chan cmdMsg, cmdQueue)
	c.AddRoute(l.topics.Cmd(), l.cmdHandler(cmds))
	tok := c.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		c.Disconnect(0)
		return nil, nil, nil, ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return nil, nil, nil, err
	}
	connAt.Store(time.Now().UnixNano())
	return c, lost, cmds, nil
}

// openConn opens the broker connection (through Options.Dial when set;
// TLS for TLS schemes; a WebSocket for ws and wss) and bounds the packets
// read from it (sizeConn).
func (l *Link) openConn(ep *endpoint, u *url.URL, o paho.ClientOptions) (net.Conn, error) {
	conn, err := l.dialBroker(ep, u, o)
	if err != nil {
		return nil, err
	}
	return newSizeConn(conn, downlink.MaxPayload, l.cuts.add), nil
}

func (l *Link) dialBroker(ep *endpoint, u *url.URL, o paho.ClientOptions) (net.Conn, error) {
	cfg := serverTLS(ep.tls, u.Hostname())
	switch u.Scheme {
	case "ws", "wss":
		if l.opts.Dial != nil {
			return nil, errors.New("mqttlink: Options.Dial does not support ws:// or wss://")
		}
		wu := *u
		wu.User = nil
		if u.Scheme == "ws" {
			cfg = nil
		}
		return paho.NewWebsocket(wu.String(), cfg, l.opts.AckTimeout, o.HTTPHeaders, o.WebsocketOptions)
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "tcps":
	default:
		return nil, fmt.Errorf("mqttlink: unsupported broker scheme %q", u.Scheme)
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.opts.AckTimeout)
	defer cancel()
	dial := l.opts.Dial
	if dial == nil {
		dial = proxyDialer(l.opts.AckTimeout)
	}
	conn, err := dial(ctx, "tcp", u.Host)
	if err != nil || !IsTLSScheme(u.Scheme) {
		return conn, err
	}
	tc, err := handshake(ctx, conn, cfg)
	if err != nil {
		return nil, fmt.Errorf("tls handshake: %w", err)
	}
	return tc, nil
}

// proxyDialer dials directly, or through the proxy named by the
// environment (ALL_PROXY, NO_PROXY), as paho does.
func proxyDialer(timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	pd := proxy.FromEnvironmentUsing(d)
	if cd, ok := pd.(proxy.ContextDialer); ok {
		return cd.DialContext
	}
	return func(_ context.Context, network, addr string) (net.Conn, error) { return pd.Dial(network, addr) }
}

// shutdown publishes the retained offline status and disconnects cleanly.
func (l *Link) shutdown(c paho.Client, ep *endpoint) {
	if c.IsConnectionOpen() {
		if err := l.publishStatus(c, ticket.StatusOffline); err != nil {
			l.log.Warn("uplink: offline status not acknowledged at shutdown", "err", err)
		}
	}
	c.Disconnect(250)
	l.log.Info("uplink: disconnected", "broker", ep.broker)
}
