package mqttlink

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fenghuo-iot/fenghuo/uplink/downlink"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// Topics builds a gateway's topics; see [ticket.Topics].
type Topics = ticket.Topics

// Options configures a Link. Broker, TownshipCode, GatewayID and Outbox
// are required; every other zero value means the default.
type Options struct {
	Broker   string // tcp://, ssl://, tls://, mqtts://, ws://, wss://
	ClientID string // default GatewayID
	Username string
	Password string // never logged (see LogValue)

	CAFile, CertFile, KeyFile string // PEM; verification stays on
	// InsecureSkipVerify disables server certificate checks (tests only).
	InsecureSkipVerify bool

	TopicPrefix  string // default "fenghuo/v1"
	TownshipCode string
	GatewayID    string

	// CleanSession asks the broker for a clean MQTT session. The default
	// (false) is a persistent session under ClientID, so the broker queues
	// QoS 1 downlink commands (township acks) while the gateway is offline.
	CleanSession bool

	Keepalive time.Duration // MQTT keepalive, default 30 s
	Heartbeat time.Duration // retained online status period, default 30 s

	Outbox outbox.Outbox
	// Status returns the gateway's current status; the link sets schema,
	// gateway_id, state and at itself, and fills version, started_at,
	// last_publish_at and transmission_fault when empty. nil: the link
	// reports what it knows (buffer depth from the outbox).
	Status func() ticket.Status
	Logger *slog.Logger // nil: discard
	// Control executes a downlink control command (a signed one: the
	// guard refuses unsigned control) and returns what it did; nil refuses
	// every control command (uplink.allow_remote_control: false).
	Control func(ctx context.Context, device, action, by string) (downlink.ControlResult, error)
	// Config applies a downlink config command's YAML (signed: the guard
	// refuses unsigned config) and returns what it did; nil refuses every
	// config command (uplink.allow_remote_config: false).
	Config func(ctx context.Context, yaml []byte, by string) downlink.ConfigResult
	// OnPublished is called after each record's PUBACK and MarkSent.
	OnPublished func(rec outbox.Record, at time.Time)

	// Window is how many QoS 1 publishes may await their PUBACK at once
	// (records are still marked sent in order); default 32, 1 publishes
	// one at a time.
	Window int

	AckTimeout time.Duration // wait for a PUBACK, default 10 s
	MinBackoff time.Duration // reconnect backoff, default 1 s
	MaxBackoff time.Duration // default 60 s
	// ConnectSpread spreads a fleet's connections after a broker restart
	// (see spread.go): the first connect of Run, and the first attempt
	// after the broker closed the connection, wait a fixed offset in
	// [0, ConnectSpread) derived from GatewayID, on top of the jittered
	// backoff; later attempts of that outage fall on the same slots, one
	// ConnectSpread apart. A pending fire-class record cuts the wait
	// short. 0 (the zero value) is off; the daemon's default is
	// [DefaultConnectSpread] (uplink.mqtt.connect_spread). It must be
	// shorter than FaultAfter.
	ConnectSpread time.Duration
	PollInterval  time.Duration // outbox poll without Notify, default 1 s
	BufferedAfter time.Duration // a record older than this is "buffered", default 1 s
	// MaxSize bounds the outbox in bytes (DESIGN §6) when the outbox
	// implements [outbox.Maintainer]; 0: unbounded.
	MaxSize int64
	// Retention is what Prune keeps; zero fields mean outbox.DefaultRetention.
	Retention outbox.Retention
	// MaintainEvery is how often MaxSize is enforced, default 1 min;
	// PruneEvery how often delivered records are pruned, default 1 h.
	MaintainEvery, PruneEvery time.Duration
	// FaultAfter is R25: the transmission fault is raised when the oldest
	// unsent ticket has waited this long and no ticket PUBACK arrived for
	// as long; default 100 s (EN 54-21 5.3 b).
	FaultAfter time.Duration
	// Now is the clock for R25, pruning and acks; nil: time.Now.
	Now func() time.Time
	// CmdKey, when set, is the HMAC-SHA256 key of downlink commands: every
	// command must then be signed (downlink.Sign), carry a fresh ts and a
	// new id. Never logged.
	CmdKey []byte
	// Dial, when set, opens the TCP connection to the broker (TLS is layered
	// on top for TLS schemes). Tests use it to cut the link abruptly.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// LogValue redacts the password.
func (o Options) LogValue() slog.Value {
	pw := ""
	if o.Password != "" {
		pw = "REDACTED"
	}
	return slog.GroupValue(slog.String("broker", sanitize.URL(o.Broker)), slog.String("client_id", o.ClientID),
		slog.String("username", o.Username), slog.String("password", pw),
		slog.String("gateway", o.GatewayID), slog.String("township", o.TownshipCode))
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Keepalive, 30*time.Second)
	def(&o.Heartbeat, 30*time.Second)
	def(&o.AckTimeout, 10*time.Second)
	def(&o.MinBackoff, time.Second)
	def(&o.MaxBackoff, 60*time.Second)
	def(&o.PollInterval, time.Second)
	def(&o.BufferedAfter, time.Second)
	def(&o.MaintainEvery, time.Minute)
	def(&o.PruneEvery, time.Hour)
	def(&o.FaultAfter, 100*time.Second)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Window <= 0 {
		o.Window = 32
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.ClientID == "" {
		o.ClientID = o.GatewayID
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

func (o *Options) validate() error {
	var errs []error
	req := func(v, name string) {
		if v == "" {
			errs = append(errs, fmt.Errorf("mqttlink: %s is required", name))
		}
	}
	req(o.Broker, "Broker")
	req(o.TownshipCode, "TownshipCode")
	req(o.GatewayID, "GatewayID")
	if o.Outbox == nil {
		errs = append(errs, errors.New("mqttlink: Outbox is required"))
	}
	if o.Broker != "" {
		if _, err := url.Parse(o.Broker); err != nil {
			errs = append(errs, fmt.Errorf("mqttlink: Broker: %w", err))
		}
	}
	if o.ConnectSpread < 0 || o.ConnectSpread >= o.FaultAfter {
		errs = append(errs, fmt.Errorf("mqttlink: ConnectSpread %s must be at least 0 and shorter than FaultAfter (%s), "+
			"or every broker restart raises the transmission fault", o.ConnectSpread, o.FaultAfter))
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		errs = append(errs, errors.New("mqttlink: CertFile and KeyFile go together"))
	}
	return errors.Join(errs...)
}

// tlsConfig builds the client TLS config, or nil when none is configured
// (paho then uses defaults, with verification, for TLS schemes).
func (o *Options) tlsConfig() (*tls.Config, error) {
	if o.CAFile == "" && o.CertFile == "" && !o.InsecureSkipVerify {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.InsecureSkipVerify}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqttlink: ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqttlink: ca_file %s: no PEM certificate", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqttlink: client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// IsTLSScheme reports whether a broker URL scheme implies TLS.
func IsTLSScheme(scheme string) bool {
	switch scheme {
	case "ssl", "tls", "mqtts", "tcps", "wss":
		return true
	}
	return false
}

// pahoOptions are the MQTT client options every connection shares (the
// link's and the probe's): MQTT 3.1.1, no paho retries or reconnects, a
// fresh in-memory store, the keepalive, the timeouts, the credentials and
// the TLS config tc (nil: paho's defaults).
func (o *Options) pahoOptions(tc *tls.Config) *paho.ClientOptions {
	p := paho.NewClientOptions().AddBroker(o.Broker).SetClientID(o.ClientID).
		SetCleanSession(o.CleanSession).SetAutoReconnect(false).SetConnectRetry(false).
		// A fresh in-memory store per connection: paho never resends a
		// publish from an earlier connection; the outbox does that.
		// OrderMatters stays true: it only orders the handlers of incoming
		// messages (commands); a PUBACK completes its token directly.
		SetStore(paho.NewMemoryStore()).
		// MQTT 3.1.1 only: paho would otherwise retry every refused
		// connection with MQTT 3.1, doubling each failed attempt.
		SetProtocolVersion(4).
		SetKeepAlive(o.Keepalive).SetConnectTimeout(o.AckTimeout).
		// paho's Subscribe and Publish wait up to WriteTimeout (default
		// 30 s) to hand their packet over, and wait that long when the
		// connection dropped right after CONNACK: Run would not return.
		SetWriteTimeout(o.AckTimeout)
	if o.Username != "" || o.Password != "" {
		p.SetUsername(o.Username).SetPassword(o.Password)
	}
	if tc != nil {
		p.SetTLSConfig(tc)
	}
	return p
}

// serverTLS is the TLS config of one connection to host: base (the
// options' tlsConfig) or the defaults, verification on, naming host.
func serverTLS(base *tls.Config, host string) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if base != nil {
		cfg = base.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	return cfg
}

// handshake runs the client TLS handshake over conn; on failure conn is
// closed.
func handshake(ctx context.Context, conn net.Conn, cfg *tls.Config) (*tls.Conn, error) {
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, errors.Join(err, conn.Close())
	}
	return tc, nil
}
