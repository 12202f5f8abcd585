package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/spf13/cobra"

	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// DefaultConfigPath is where install.sh puts the gateway's config.
const DefaultConfigPath = "/etc/fenghuo/fenghuo.yaml"

// probeStep is one step of `diag uplink`.
type probeStep struct {
	Step string  `json:"step"` // dns | tcp | tls | mqtt | publish
	OK   bool    `json:"ok"`
	Ms   float64 `json:"ms"` // -1 for a skipped step
	// Skipped is a step that does not apply (no DNS for an address, no TLS
	// for tcp://).
	Skipped bool   `json:"skipped,omitempty"`
	Detail  string `json:"detail,omitempty"`
	Error   string `json:"error,omitempty"`
	// Cert is the broker's certificate (tls step).
	Cert *probeCert `json:"cert,omitempty"`
}

type probeCert struct {
	Subject  string    `json:"subject"`
	Issuer   string    `json:"issuer"`
	NotAfter time.Time `json:"not_after"`
	DaysLeft int       `json:"days_left"`
}

// probeResult is what `diag uplink --json` prints. It never carries the
// password.
type probeResult struct {
	Broker   string      `json:"broker"`
	ClientID string      `json:"client_id"`
	Username string      `json:"username,omitempty"`
	Topic    string      `json:"topic"`
	OK       bool        `json:"ok"`
	Failed   string      `json:"failed,omitempty"` // the failing step
	Steps    []probeStep `json:"steps"`
}

// newDiagUplinkCmd is `fenghuo diag uplink`: the broker reached step by
// step with the configured credentials, without the daemon.
func newDiagUplinkCmd(f *diagFlags) *cobra.Command {
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "uplink [--config FILE] [--timeout 10s]",
		Short: "Connect to the broker as configured and report DNS, TCP, TLS, MQTT auth and a QoS 1 round trip",
		Long: `uplink reads uplink.mqtt of the config (--config, default ` + DefaultConfigPath + `) and
connects to the broker itself, step by step, each with its time: DNS, TCP,
TLS (the broker's certificate subject, issuer and expiry; verification on),
MQTT CONNECT with the configured credentials (the CONNACK code by name), and
a QoS 1 publish to P/T/G/probe answered by PUBACK. It needs no daemon and
uses the client id <client_id>-probe, so it never takes over the daemon's
session. The password is never printed.

Exit codes: 0 every step passed; 1 a step failed (named in the output and
on stderr); 2 usage error.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if timeout <= 0 {
				return usage(fmt.Errorf("diag uplink: --timeout %s: want a positive duration", timeout))
			}
			path := f.config
			if path == "" {
				path = DefaultConfigPath
			}
			cfg, _, err := loadConfig(path, c.ErrOrStderr(), "")
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			lines := out
			if f.json {
				lines = io.Discard
			}
			res := probeUplink(c.Context(), cfg, timeout, time.Now, lines)
			if f.json {
				if err := printJSON(out, res); err != nil {
					return err
				}
			}
			if !res.OK {
				last := res.Steps[len(res.Steps)-1]
				return failed(fmt.Errorf("diag uplink: %s failed: %s", stepName(res.Failed), last.Error))
			}
			return nil
		},
	}
	c.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "how long each step may take")
	return c
}

func stepName(s string) string {
	switch s {
	case "dns", "tcp", "tls", "mqtt":
		return strings.ToUpper(s)
	}
	return s
}

// probeUplink runs the steps in order and stops at the first that fails;
// it prints one line per step on w.
func probeUplink(ctx context.Context, cfg *config.Config, timeout time.Duration, now func() time.Time, w io.Writer) probeResult {
	m := cfg.Uplink.MQTT
	clientID := m.ClientID
	if clientID == "" {
		clientID = cfg.Gateway.ID
	}
	clientID += "-probe"
	tp := ticket.Topics{Prefix: m.TopicPrefix, Township: cfg.Gateway.Site.TownshipCode, Gateway: cfg.Gateway.ID}
	res := probeResult{Broker: brokerForDisplay(m.Broker), ClientID: clientID, Username: m.Username,
		Topic: strings.TrimSuffix(tp.Cmd(), "cmd") + "probe"}
	who := "client id " + clientID
	if m.Username != "" {
		who += ", user " + m.Username
	}
	fmt.Fprintf(w, "%-8s %s (%s)\n", "broker", res.Broker, who)
	p := &prober{res: &res, w: w, timeout: timeout}
	defer p.close()

	u, err := url.Parse(m.Broker)
	if err != nil {
		p.fail("dns", 0, fmt.Errorf("uplink.mqtt.broker: %v", err))
		return res
	}
	secure := mqttlink.IsTLSScheme(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[bool]string{false: "1883", true: "8883"}[secure]
	}
	host := u.Hostname()

	// DNS
	var addrs []string
	start := time.Now()
	if ip := net.ParseIP(host); ip != nil {
		addrs = []string{ip.String()}
		p.skip("dns", host+" is an address: no lookup")
	} else {
		dctx, cancel := context.WithTimeout(ctx, timeout)
		ips, err := net.DefaultResolver.LookupHost(dctx, host)
		cancel()
		if err != nil {
			p.fail("dns", time.Since(start), fmt.Errorf("lookup %s: %v (check /etc/resolv.conf and the broker's name)", host, unwrapDNS(err)))
			return res
		}
		addrs = ips
		p.ok("dns", time.Since(start), fmt.Sprintf("%s → %s", host, strings.Join(ips, ", ")))
	}

	// TCP: the first address that answers.
	var errs []string
	start = time.Now()
	for _, a := range addrs {
		addr := net.JoinHostPort(a, port)
		d := net.Dialer{Timeout: timeout}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", addr, unwrapOp(err)))
			continue
		}
		p.conn = conn
		p.ok("tcp", time.Since(start), "connected to "+addr)
		break
	}
	if p.conn == nil {
		p.fail("tcp", time.Since(start), fmt.Errorf("%s (is the broker up, the port right, a firewall in the way?)", strings.Join(errs, "; ")))
		return res
	}

	// TLS, verification on.
	if !secure {
		p.skip("tls", fmt.Sprintf("not used: %s:// is plaintext", u.Scheme))
	} else if !p.handshake(ctx, m, host, now()) {
		return res
	}

	if u.Scheme == "ws" || u.Scheme == "wss" {
		p.skip("mqtt", "not probed: diag uplink speaks MQTT over TCP and TLS, not over WebSocket")
		res.OK = true
		return res
	}
	if !p.connect(clientID, m.Username, m.Password.Reveal(), m.Keepalive) {
		return res
	}
	if !p.publish(res.Topic, now()) {
		return res
	}
	res.OK = true
	fmt.Fprintln(w, "uplink ok: the gateway can reach, log in to and publish on the broker")
	return res
}

// prober holds the connection across the steps.
type prober struct {
	res     *probeResult
	w       io.Writer
	timeout time.Duration
	conn    net.Conn
}

func (p *prober) close() {
	if p.conn != nil {
		p.conn.Close()
	}
}

func (p *prober) add(s probeStep) {
	p.res.Steps = append(p.res.Steps, s)
	status := "ok"
	switch {
	case !s.OK:
		status, p.res.Failed = "FAILED", s.Step
	case s.Ms < 0:
		status = "—"
	}
	took := ""
	if s.Ms >= 0 {
		took = latency(max(s.Ms, 0.1))
	}
	msg := s.Detail
	if !s.OK {
		msg = s.Error
	}
	fmt.Fprintf(p.w, "%-8s %-6s %-7s %s\n", stepName(s.Step), status, took, sanitize.Line(msg)) // the broker's and DNS's words
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (p *prober) ok(step string, d time.Duration, detail string) {
	p.add(probeStep{Step: step, OK: true, Ms: ms(d), Detail: detail})
}

func (p *prober) skip(step, detail string) {
	p.add(probeStep{Step: step, OK: true, Ms: -1, Skipped: true, Detail: detail})
}

func (p *prober) fail(step string, d time.Duration, err error) {
	p.add(probeStep{Step: step, Ms: ms(d), Error: err.Error()})
}

// handshake runs TLS over the TCP connection with the config's CA (else
// the system's) and client certificate, and reports the broker's leaf
// certificate.
func (p *prober) handshake(ctx context.Context, m config.MQTT, host string, now time.Time) bool {
	start := time.Now()
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
	trust := "the system's CAs"
	if m.CAFile != "" {
		pem, err := os.ReadFile(m.CAFile)
		if err != nil {
			p.fail("tls", 0, fmt.Errorf("uplink.mqtt.ca_file: %v", err))
			return false
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			p.fail("tls", 0, fmt.Errorf("uplink.mqtt.ca_file %s: no PEM certificate in it", m.CAFile))
			return false
		}
		cfg.RootCAs, trust = pool, "ca_file "+m.CAFile
	}
	if m.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(m.CertFile, m.KeyFile)
		if err != nil {
			p.fail("tls", 0, fmt.Errorf("uplink.mqtt.cert_file/key_file: %v", err))
			return false
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	hctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	tc := tls.Client(p.conn, cfg)
	if err := tc.HandshakeContext(hctx); err != nil {
		p.fail("tls", time.Since(start), fmt.Errorf("handshake with %s: %v (verified against %s)", host, err, trust))
		return false
	}
	took := time.Since(start)
	p.conn = tc
	st := tc.ConnectionState()
	leaf := st.PeerCertificates[0]
	days := int(leaf.NotAfter.Sub(now).Hours() / 24)
	pc := &probeCert{Subject: leaf.Subject.String(), Issuer: leaf.Issuer.String(), NotAfter: leaf.NotAfter, DaysLeft: days}
	detail := fmt.Sprintf("%s, verified against %s; certificate %s, issuer %s, expires %s (%d days left)",
		tls.VersionName(st.Version), trust, pc.Subject, pc.Issuer, leaf.NotAfter.In(localTime).Format("2006-01-02"), days)
	if days < 30 {
		detail += " — RENEW IT SOON"
	}
	p.add(probeStep{Step: "tls", OK: true, Ms: ms(took), Detail: detail, Cert: pc})
	return true
}

// connackNames are the MQTT 3.1.1 CONNACK return codes.
var connackNames = map[byte]string{
	0: "accepted",
	1: "unacceptable protocol version",
	2: "identifier rejected",
	3: "server unavailable",
	4: "bad user name or password",
	5: "not authorized",
}

// connect sends CONNECT (MQTT 3.1.1, clean session) and reads CONNACK.
func (p *prober) connect(clientID, user, password string, keepalive time.Duration) bool {
	start := time.Now()
	cp := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	cp.ProtocolName, cp.ProtocolVersion, cp.CleanSession = "MQTT", 4, true
	cp.ClientIdentifier = clientID
	cp.Keepalive = uint16(min(max(keepalive, 10*time.Second), time.Hour) / time.Second)
	if user != "" {
		cp.UsernameFlag, cp.Username = true, user
	}
	if password != "" {
		cp.PasswordFlag, cp.Password = true, []byte(password)
	}
	pk, err := p.roundTrip(cp)
	if err != nil {
		p.fail("mqtt", time.Since(start), fmt.Errorf("CONNECT: %v", err))
		return false
	}
	ca, ok := pk.(*packets.ConnackPacket)
	if !ok {
		p.fail("mqtt", time.Since(start), fmt.Errorf("CONNECT answered by %s, not CONNACK: is this an MQTT broker?", pk.String()))
		return false
	}
	name := connackNames[ca.ReturnCode]
	if name == "" {
		name = "unknown code"
	}
	auth := "anonymous"
	if user != "" {
		auth = "user " + user
		if password != "" {
			auth += " with password"
		}
	}
	if ca.ReturnCode != 0 {
		hint := ""
		switch ca.ReturnCode {
		case 4, 5:
			hint = ": check uplink.mqtt.username and the password (password_file, FENGHUO_UPLINK_MQTT_PASSWORD) with the township"
		case 2:
			hint = ": the broker refuses this client id; check uplink.mqtt.client_id"
		}
		p.fail("mqtt", time.Since(start), fmt.Errorf("CONNACK %d %s (%s, client id %s)%s", ca.ReturnCode, name, auth, clientID, hint))
		return false
	}
	p.ok("mqtt", time.Since(start), fmt.Sprintf("CONNACK 0 %s (%s)", name, auth))
	return true
}

// publish sends one QoS 1 message to topic and waits for its PUBACK.
func (p *prober) publish(topic string, now time.Time) bool {
	start := time.Now()
	pp := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	pp.Qos, pp.TopicName, pp.MessageID = 1, topic, 1
	pp.Payload = fmt.Appendf(nil, `{"probe":"fenghuo diag uplink","at":%q}`, ticket.FormatTime(now))
	pk, err := p.roundTrip(pp)
	if err != nil {
		p.fail("publish", time.Since(start), fmt.Errorf("QoS 1 to %s: %v", topic, err))
		return false
	}
	if pa, ok := pk.(*packets.PubackPacket); !ok || pa.MessageID != 1 {
		p.fail("publish", time.Since(start), fmt.Errorf("QoS 1 to %s answered by %s, not its PUBACK", topic, pk.String()))
		return false
	}
	p.ok("publish", time.Since(start), "PUBACK for QoS 1 on "+topic)
	disc := packets.NewControlPacket(packets.Disconnect)
	p.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_ = disc.Write(p.conn) // best effort: the probe is done
	return true
}

// roundTrip writes pk and reads the broker's next packet within the
// timeout.
func (p *prober) roundTrip(pk packets.ControlPacket) (packets.ControlPacket, error) {
	if err := p.conn.SetDeadline(time.Now().Add(p.timeout)); err != nil {
		return nil, err
	}
	if err := pk.Write(p.conn); err != nil {
		return nil, unwrapOp(err)
	}
	in, err := packets.ReadPacket(p.conn)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, fmt.Errorf("no answer within %s", p.timeout)
	case errors.Is(err, io.EOF):
		return nil, errors.New("the broker closed the connection")
	case err != nil:
		return nil, unwrapOp(err)
	}
	return in, nil
}

// brokerForDisplay is the broker URL without user info.
func brokerForDisplay(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable broker URL)"
	}
	u.User = nil
	return u.String()
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
