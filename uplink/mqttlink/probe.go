package mqttlink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/fenghuo-iot/fenghuo/uplink/downlink"
	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// ProbeStep is one step of [Probe]: dns, tcp, tls, mqtt or publish.
type ProbeStep struct {
	Step string  `json:"step"` // dns | tcp | tls | mqtt | publish
	OK   bool    `json:"ok"`
	Ms   float64 `json:"ms"` // -1 for a skipped step
	// Skipped is a step that does not apply (no DNS for an address, no TLS
	// for tcp://).
	Skipped bool   `json:"skipped,omitempty"`
	Detail  string `json:"detail,omitempty"`
	Error   string `json:"error,omitempty"`
	// Cert is the broker's certificate (tls step).
	Cert *ProbeCert `json:"cert,omitempty"`
	// Connack is the broker's CONNACK return code (mqtt step), when one
	// arrived; ConnackMeaning says what it means (MQTT 3.1.1 §3.2.2.3).
	Connack        *byte  `json:"connack,omitempty"`
	ConnackMeaning string `json:"connack_meaning,omitempty"`
}

// ProbeCert is the broker's leaf certificate.
type ProbeCert struct {
	Subject  string    `json:"subject"`
	Issuer   string    `json:"issuer"`
	NotAfter time.Time `json:"not_after"`
	DaysLeft int       `json:"days_left"`
}

// ProbeResult is the outcome of [Probe]. It never carries the password.
type ProbeResult struct {
	Broker   string      `json:"broker"`
	ClientID string      `json:"client_id"`
	Username string      `json:"username,omitempty"`
	Topic    string      `json:"topic"`
	OK       bool        `json:"ok"`
	Failed   string      `json:"failed,omitempty"` // the failing step
	Steps    []ProbeStep `json:"steps"`
}

// LastError is the error of the failing step, "" when every step passed.
func (r ProbeResult) LastError() string {
	if r.OK || len(r.Steps) == 0 {
		return ""
	}
	return r.Steps[len(r.Steps)-1].Error
}

// ProbeOptions tune [Probe].
type ProbeOptions struct {
	Timeout time.Duration    // each step; default 10 s
	Now     func() time.Time // certificate expiry and the payload's time; nil: time.Now
	// Location renders the certificate's expiry date; nil: time.Local.
	Location *time.Location
	// OnStart, when set, is called before the first step with what is
	// probed (broker, client id, user, topic).
	OnStart func(ProbeResult)
	// OnStep, when set, is called after each step, in order, as it ends.
	OnStep func(ProbeStep)
}

// ConnackMeaning names an MQTT 3.1.1 CONNACK return code.
func ConnackMeaning(code byte) string {
	switch code {
	case packets.Accepted:
		return "accepted"
	case packets.ErrRefusedBadProtocolVersion:
		return "unacceptable protocol version"
	case packets.ErrRefusedIDRejected:
		return "identifier rejected"
	case packets.ErrRefusedServerUnavailable:
		return "server unavailable"
	case packets.ErrRefusedBadUsernameOrPassword:
		return "bad user name or password"
	case packets.ErrRefusedNotAuthorised:
		return "not authorized"
	}
	return "unknown code"
}

// Probe connects to the broker of o as the link does (the same TLS
// config, dialer, size-bounded connection, MQTT options and client-id
// rules), step by step, each timed: DNS, TCP, TLS with verification, MQTT
// CONNECT (clean session, client id <ClientID>-probe so it never takes over
// the link's session) and a QoS 1 publish to P/T/G/probe answered by PUBACK.
// It stops at the first step that fails. Outbox and the link's other
// options are not used.
func Probe(ctx context.Context, o Options, po ProbeOptions) ProbeResult {
	if po.Timeout <= 0 {
		po.Timeout = 10 * time.Second
	}
	if po.Now == nil {
		po.Now = time.Now
	}
	if po.Location == nil {
		po.Location = time.Local
	}
	o.defaults()
	o.ClientID += "-probe"
	o.CleanSession = true
	o.AckTimeout = po.Timeout
	topics := Topics{Prefix: o.TopicPrefix, Township: o.TownshipCode, Gateway: o.GatewayID}
	p := &prober{o: o, po: po, res: ProbeResult{Broker: sanitize.URL(o.Broker), ClientID: o.ClientID,
		Username: o.Username, Topic: topics.Probe()}}
	defer p.close()
	if po.OnStart != nil {
		po.OnStart(p.res)
	}
	p.run(ctx)
	return p.res
}

// prober holds the connection across the steps.
type prober struct {
	o    Options
	po   ProbeOptions
	res  ProbeResult
	conn net.Conn
}

func (p *prober) close() {
	if p.conn != nil {
		p.conn.Close()
	}
}

func (p *prober) run(ctx context.Context) {
	u, err := url.Parse(p.o.Broker)
	if err != nil {
		p.fail("dns", 0, fmt.Errorf("broker: %v", err))
		return
	}
	secure := IsTLSScheme(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[bool]string{false: "1883", true: "8883"}[secure]
	}
	host := u.Hostname()
	addrs, ok := p.resolve(ctx, host)
	if !ok || !p.dial(ctx, addrs, port) {
		return
	}
	if !secure {
		p.skip("tls", fmt.Sprintf("not used: %s:// is plaintext", u.Scheme))
	} else if !p.handshake(ctx, host) {
		return
	}
	if u.Scheme == "ws" || u.Scheme == "wss" {
		p.skip("mqtt", "not probed: diag uplink speaks MQTT over TCP and TLS, not over WebSocket")
		p.res.OK = true
		return
	}
	c, ok := p.connect()
	if !ok {
		return
	}
	defer c.Disconnect(250)
	p.res.OK = p.publish(c)
}

func (p *prober) add(s ProbeStep) {
	if !s.OK {
		p.res.Failed = s.Step
	}
	p.res.Steps = append(p.res.Steps, s)
	if p.po.OnStep != nil {
		p.po.OnStep(s)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (p *prober) ok(step string, d time.Duration, detail string) {
	p.add(ProbeStep{Step: step, OK: true, Ms: ms(d), Detail: detail})
}

func (p *prober) skip(step, detail string) {
	p.add(ProbeStep{Step: step, OK: true, Ms: -1, Skipped: true, Detail: detail})
}

func (p *prober) fail(step string, d time.Duration, err error) {
	p.add(ProbeStep{Step: step, Ms: ms(d), Error: err.Error()})
}

// resolve is the DNS step.
func (p *prober) resolve(ctx context.Context, host string) ([]string, bool) {
	if ip := net.ParseIP(host); ip != nil {
		p.skip("dns", host+" is an address: no lookup")
		return []string{ip.String()}, true
	}
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, p.po.Timeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupHost(dctx, host)
	if err != nil {
		p.fail("dns", time.Since(start), fmt.Errorf("lookup %s: %v (check /etc/resolv.conf and the broker's name)", host, unwrapDNS(err)))
		return nil, false
	}
	p.ok("dns", time.Since(start), fmt.Sprintf("%s → %s", host, strings.Join(ips, ", ")))
	return ips, true
}

// dial is the TCP step: the first address that answers, through the
// link's dialer (Options.Dial, else direct or the environment's proxy).
func (p *prober) dial(ctx context.Context, addrs []string, port string) bool {
	dial := p.o.Dial
	if dial == nil {
		dial = proxyDialer(p.po.Timeout)
	}
	var errs []string
	start := time.Now()
	for _, a := range addrs {
		addr := net.JoinHostPort(a, port)
		dctx, cancel := context.WithTimeout(ctx, p.po.Timeout)
		conn, err := dial(dctx, "tcp", addr)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", addr, unwrapOp(err)))
			continue
		}
		p.conn = conn
		p.ok("tcp", time.Since(start), "connected to "+addr)
		return true
	}
	p.fail("tcp", time.Since(start), fmt.Errorf("%s (is the broker up, the port right, a firewall in the way?)", strings.Join(errs, "; ")))
	return false
}

// handshake is the TLS step, with the link's TLS config (CAFile, else the
// system's CAs; the client certificate), verification on; it reports the
// broker's leaf certificate.
func (p *prober) handshake(ctx context.Context, host string) bool {
	start := time.Now()
	base, err := p.o.tlsConfig()
	if err != nil {
		p.fail("tls", 0, err)
		return false
	}
	trust := "the system's CAs"
	if p.o.CAFile != "" {
		trust = "ca_file " + p.o.CAFile
	}
	hctx, cancel := context.WithTimeout(ctx, p.po.Timeout)
	defer cancel()
	tc, err := handshake(hctx, p.conn, serverTLS(base, host))
	if err != nil {
		p.conn = nil // closed by handshake
		p.fail("tls", time.Since(start), fmt.Errorf("handshake with %s: %v (verified against %s)", host, err, trust))
		return false
	}
	took := time.Since(start)
	p.conn = tc
	st := tc.ConnectionState()
	leaf := st.PeerCertificates[0]
	days := int(leaf.NotAfter.Sub(p.po.Now()).Hours() / 24)
	pc := &ProbeCert{Subject: leaf.Subject.String(), Issuer: leaf.Issuer.String(), NotAfter: leaf.NotAfter, DaysLeft: days}
	detail := fmt.Sprintf("%s, verified against %s; certificate %s, issuer %s, expires %s (%d days left)",
		tls.VersionName(st.Version), trust, pc.Subject, pc.Issuer, leaf.NotAfter.In(p.po.Location).Format("2006-01-02"), days)
	if days < 30 {
		detail += " — RENEW IT SOON"
	}
	p.add(ProbeStep{Step: "tls", OK: true, Ms: ms(took), Detail: detail, Cert: pc})
	return true
}

// connect is the MQTT step: the link's paho options over the connection
// opened above, bounded as the link bounds it (sizeConn).
func (p *prober) connect() (paho.Client, bool) {
	start := time.Now()
	conn := p.conn
	p.conn = nil // paho owns it now
	var cuts cutNotes
	opened := false
	po := p.o.pahoOptions(nil).SetCustomOpenConnectionFn(func(*url.URL, paho.ClientOptions) (net.Conn, error) {
		if opened {
			return nil, errors.New("mqttlink: the probe connects once")
		}
		opened = true
		return newSizeConn(conn, downlink.MaxPayload, cuts.add), nil
	})
	c := paho.NewClient(po)
	tok := c.Connect()
	if !tok.WaitTimeout(p.po.Timeout + time.Second) {
		c.Disconnect(0)
		conn.Close()
		p.fail("mqtt", time.Since(start), fmt.Errorf("CONNECT: no answer within %s", p.po.Timeout))
		return nil, false
	}
	code := tok.(*paho.ConnectToken).ReturnCode()
	if err := tok.Error(); err != nil && (code == packets.Accepted || code == packets.ErrNetworkError) {
		conn.Close()
		p.fail("mqtt", time.Since(start), fmt.Errorf("CONNECT: %v", connectError(err)))
		return nil, false
	}
	step := ProbeStep{Step: "mqtt", OK: code == packets.Accepted, Ms: ms(time.Since(start)), Connack: &code, ConnackMeaning: ConnackMeaning(code)}
	if !step.OK {
		conn.Close()
		step.Error = fmt.Sprintf("CONNACK %d %s (%s, client id %s)%s", code, step.ConnackMeaning, p.auth(), p.o.ClientID, connackHint(code))
	} else {
		step.Detail = fmt.Sprintf("CONNACK 0 %s (%s)", step.ConnackMeaning, p.auth())
	}
	p.add(step)
	return c, step.OK
}

func (p *prober) auth() string {
	if p.o.Username == "" {
		return "anonymous"
	}
	if p.o.Password != "" {
		return "user " + p.o.Username + " with password"
	}
	return "user " + p.o.Username
}

func connackHint(code byte) string {
	switch code {
	case packets.ErrRefusedBadUsernameOrPassword, packets.ErrRefusedNotAuthorised:
		return ": check uplink.mqtt.username and the password (password_file, FENGHUO_UPLINK_MQTT_PASSWORD) with the township"
	case packets.ErrRefusedIDRejected:
		return ": the broker refuses this client id; check uplink.mqtt.client_id"
	}
	return ""
}

// connectError says in words why CONNECT got no CONNACK.
func connectError(err error) error {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("the broker closed the connection")
	case strings.Contains(err.Error(), "not CONNACK"):
		return fmt.Errorf("%v: is this an MQTT broker?", err)
	}
	return unwrapOp(err)
}

// publish is the round trip: QoS 1 to P/T/G/probe, answered by PUBACK.
func (p *prober) publish(c paho.Client) bool {
	start := time.Now()
	topic := p.res.Topic
	payload := fmt.Appendf(nil, `{"probe":"fenghuo diag uplink","at":%q}`, ticket.FormatTime(p.po.Now()))
	tok := c.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(p.po.Timeout) {
		p.fail("publish", time.Since(start), fmt.Errorf("QoS 1 to %s: no PUBACK within %s", topic, p.po.Timeout))
		return false
	}
	if err := tok.Error(); err != nil {
		p.fail("publish", time.Since(start), fmt.Errorf("QoS 1 to %s: %v", topic, unwrapOp(err)))
		return false
	}
	p.ok("publish", time.Since(start), "PUBACK for QoS 1 on "+topic)
	return true
}

// unwrapOp drops the "dial tcp a->b:" prefix of a net.OpError.
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

func unwrapDNS(err error) error {
	var de *net.DNSError
	if errors.As(err, &de) {
		return errors.New(de.Err)
	}
	return err
}
