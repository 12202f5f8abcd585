package mqttlink

import (
	"context"
	"crypto/tls"
	"errors"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
)

// Moving the link (a reload or a pushed config that changes
// uplink.mqtt's connection keys): the daemon checks the new connection
// with [Link.PrepareConnection] before it changes anything, then hands it
// to [Link.SetConnection] once the rest of the config is applied. Run
// then ends the current session as it ends a clean stop (the retained
// offline status on the old broker, a clean disconnect: the old broker
// drops the last will) and connects to the new endpoint at once: no
// backoff and no connect spread, which are for outages, not for a move.
// A command being handled when the move comes (the config command that
// asked for it) finishes and its reply is published on the old
// connection first. Whatever was in flight is published again on the new
// one from the outbox (at-least-once; stations dedup by event_id).

// errRedial ends a session because the endpoint changed.
var errRedial = errors.New("the uplink's connection settings changed")

// Connection is a checked set of connection settings (PrepareConnection).
type Connection struct{ ep *endpoint }

// endpoint is where and as whom the link connects: Options with the
// connection fields of one Connection, its TLS config, and the broker URL
// without a password for logs.
type endpoint struct {
	o      Options
	tls    *tls.Config
	broker string
	tlsURL bool // the broker URL has a TLS scheme
}

func newEndpoint(o Options) (*endpoint, error) {
	tc, err := o.tlsConfig()
	if err != nil {
		return nil, err
	}
	return &endpoint{o: o, tls: tc, broker: sanitize.URL(o.Broker), tlsURL: brokerTLS(o.Broker)}, nil
}

// PrepareConnection checks the connection fields of o (Broker, ClientID,
// Username, Password, CAFile, CertFile, KeyFile, InsecureSkipVerify,
// Keepalive; the link's other options stay as New set them) as New
// would, reading the TLS files, and returns them for SetConnection.
func (l *Link) PrepareConnection(o Options) (*Connection, error) {
	n := l.opts
	n.Broker, n.ClientID, n.Username, n.Password = o.Broker, o.ClientID, o.Username, o.Password
	n.CAFile, n.CertFile, n.KeyFile, n.InsecureSkipVerify = o.CAFile, o.CertFile, o.KeyFile, o.InsecureSkipVerify
	n.Keepalive = o.Keepalive
	n.defaults()
	if err := n.validate(); err != nil {
		return nil, err
	}
	ep, err := newEndpoint(n)
	if err != nil {
		return nil, err
	}
	return &Connection{ep: ep}, nil
}

// SetConnection moves the link to c and reports whether anything
// changed; with no change the current session is kept.
func (l *Link) SetConnection(c *Connection) bool {
	cur := l.endpoint()
	if sameConnection(cur.o, c.ep.o) {
		return false
	}
	l.ep.Store(c.ep)
	l.log.Info("uplink: connection settings changed: reconnecting", "from", cur.broker, "to", c.ep.broker, "client_id", c.ep.o.ClientID)
	select {
	case l.redial <- struct{}{}:
	default:
	}
	return true
}

// sameConnection compares the connection fields of two options. The TLS
// files are compared by name: a certificate renewed in place is read at
// the next restart.
func sameConnection(a, b Options) bool {
	return a.Broker == b.Broker && a.ClientID == b.ClientID && a.Username == b.Username && a.Password == b.Password &&
		a.CAFile == b.CAFile && a.CertFile == b.CertFile && a.KeyFile == b.KeyFile &&
		a.InsecureSkipVerify == b.InsecureSkipVerify && a.Keepalive == b.Keepalive
}

// endpoint is the current connection settings.
func (l *Link) endpoint() *endpoint { return l.ep.Load() }

// Broker is the current broker URL without a password.
func (l *Link) Broker() string { return l.endpoint().broker }

// ConnectedAsConfigured reports whether the link has a session made with
// the connection settings last set (New or SetConnection): after a move,
// false until the link has connected with the new ones.
func (l *Link) ConnectedAsConfigured() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.connected && l.sessionEp == l.endpoint()
}

// moved reports whether the endpoint is no longer ep (a pending redial
// for the endpoint a session already uses is stale and ignored).
func (l *Link) moved(ep *endpoint) bool { return l.endpoint() != ep }

// wait waits d, or less: until ctx is done or the endpoint changes
// (redial true).
func (l *Link) wait(ctx context.Context, d time.Duration) (redial bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-l.redial:
		return true
	}
	return false
}
