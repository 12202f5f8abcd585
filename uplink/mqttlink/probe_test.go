package mqttlink_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
)

func probeOpts(broker string) mqttlink.Options {
	return mqttlink.Options{Broker: broker, TownshipCode: "330502103", GatewayID: "gw-probe-01"}
}

// steps is "dns:skip tcp:ok ..." for a result.
func steps(r mqttlink.ProbeResult) string {
	var s []string
	for _, st := range r.Steps {
		state := "ok"
		switch {
		case st.Skipped:
			state = "skip"
		case !st.OK:
			state = "FAILED"
		}
		s = append(s, st.Step+":"+state)
	}
	return strings.Join(s, " ")
}

// Over TLS with the right CA and password: every step passes, the
// certificate is reported, the probe message reaches the broker on
// P/T/G/probe under the client id <id>-probe; OnStart and OnStep see
// everything the result holds.
func TestProbeTLS(t *testing.T) {
	pki := mqtttest.NewPKI(t)
	broker := mqtttest.StartMosquittoWith(t, mqtttest.Options{Users: map[string]string{"gw": "s3cret-pw"}, TLS: pki.TLS(false)})
	rec := mqtttest.Subscribe(t, broker.URL(), "fenghuo/v1/330502103/gw-probe-01/probe")
	o := probeOpts(strings.Replace(broker.SecureURL(), "127.0.0.1", "localhost", 1))
	o.Username, o.Password, o.CAFile, o.ClientID = "gw", "s3cret-pw", pki.CAFile, "gw-main"
	var started mqttlink.ProbeResult
	var seen []mqttlink.ProbeStep
	res := mqttlink.Probe(context.Background(), o, mqttlink.ProbeOptions{Timeout: 10 * time.Second,
		OnStart: func(r mqttlink.ProbeResult) { started = r },
		OnStep:  func(s mqttlink.ProbeStep) { seen = append(seen, s) }})
	if !res.OK || steps(res) != "dns:ok tcp:ok tls:ok mqtt:ok publish:ok" || res.Failed != "" || res.LastError() != "" {
		t.Fatalf("probe: %s %+v", steps(res), res)
	}
	if started.ClientID != "gw-main-probe" || started.Topic != "fenghuo/v1/330502103/gw-probe-01/probe" || len(seen) != 5 {
		t.Errorf("OnStart %+v, %d steps seen", started, len(seen))
	}
	tlsStep, mqttStep := res.Steps[2], res.Steps[3]
	if tlsStep.Cert == nil || tlsStep.Cert.Issuer != "CN=fenghuo mqtttest CA" || !strings.Contains(tlsStep.Detail, "verified against ca_file "+pki.CAFile) {
		t.Errorf("tls step %+v", tlsStep)
	}
	if mqttStep.Connack == nil || *mqttStep.Connack != 0 || mqttStep.ConnackMeaning != "accepted" || mqttStep.Detail != "CONNACK 0 accepted (user gw with password)" {
		t.Errorf("mqtt step %+v", mqttStep)
	}
	if m := rec.WaitFor(1, 10*time.Second); !strings.Contains(string(m[0].Payload), `"probe":"fenghuo diag uplink"`) {
		t.Errorf("probe message %s", m[0].Payload)
	}
	for _, s := range res.Steps {
		if strings.Contains(s.Detail+s.Error, "s3cret-pw") {
			t.Errorf("the password is in step %+v", s)
		}
	}

	// A CA that did not sign the broker's certificate: TLS fails, the
	// certificate check named; nothing after it runs.
	o.CAFile = mqtttest.NewPKI(t).CAFile
	res = mqttlink.Probe(context.Background(), o, mqttlink.ProbeOptions{Timeout: 10 * time.Second})
	if res.OK || res.Failed != "tls" || steps(res) != "dns:ok tcp:ok tls:FAILED" ||
		!strings.Contains(res.LastError(), "handshake with localhost: ") || !strings.Contains(res.LastError(), "certificate signed by unknown authority") {
		t.Errorf("foreign CA: %s %q", steps(res), res.LastError())
	}
}

// A refused login: the CONNACK code and its meaning, the user named, the
// password not; no publish.
func TestProbeRefusedLogin(t *testing.T) {
	broker := mqtttest.StartMosquittoWith(t, mqtttest.Options{Users: map[string]string{"gw": "s3cret-pw"}})
	o := probeOpts(broker.SecureURL()) // the listener that checks passwords
	o.Username, o.Password = "gw", "wrong-pw"
	res := mqttlink.Probe(context.Background(), o, mqttlink.ProbeOptions{Timeout: 10 * time.Second})
	if res.OK || res.Failed != "mqtt" || steps(res) != "dns:skip tcp:ok tls:skip mqtt:FAILED" {
		t.Fatalf("refused login: %s %+v", steps(res), res)
	}
	st := res.Steps[3]
	if st.Connack == nil || (*st.Connack != 4 && *st.Connack != 5) || st.ConnackMeaning != mqttlink.ConnackMeaning(*st.Connack) ||
		!strings.Contains(st.Error, "(user gw with password, client id gw-probe-01-probe): check uplink.mqtt.username") {
		t.Errorf("mqtt step %+v", st)
	}
	if strings.Contains(st.Error, "wrong-pw") {
		t.Errorf("the password is printed: %q", st.Error)
	}
}

// Nobody listening: TCP fails, named with the address.
func TestProbeUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	res := mqttlink.Probe(context.Background(), probeOpts("tcp://"+addr), mqttlink.ProbeOptions{Timeout: 5 * time.Second})
	if res.OK || steps(res) != "dns:skip tcp:FAILED" || !strings.HasPrefix(res.LastError(), addr+": connect: connection refused") {
		t.Errorf("unreachable: %s %q", steps(res), res.LastError())
	}
}

// A peer that accepts TCP but is no MQTT broker: the mqtt step fails
// without a CONNACK code.
func TestProbeNotABroker(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
			c.Close()
		}
	}()
	res := mqttlink.Probe(context.Background(), probeOpts("tcp://"+ln.Addr().String()), mqttlink.ProbeOptions{Timeout: 5 * time.Second})
	if res.OK || res.Failed != "mqtt" || res.Steps[len(res.Steps)-1].Connack != nil || !strings.HasPrefix(res.LastError(), "CONNECT: ") {
		t.Errorf("not a broker: %s %+v", steps(res), res)
	}
}

func TestConnackMeaning(t *testing.T) {
	for code, want := range map[byte]string{0: "accepted", 1: "unacceptable protocol version", 2: "identifier rejected",
		3: "server unavailable", 4: "bad user name or password", 5: "not authorized", 9: "unknown code"} {
		if got := mqttlink.ConnackMeaning(code); got != want {
			t.Errorf("ConnackMeaning(%d) = %q, want %q", code, got, want)
		}
	}
}

// The probe dials through the link's dialer (Options.Dial), as the
// daemon's connections do.
func TestProbeUsesLinkDialer(t *testing.T) {
	broker := mqtttest.StartMosquitto(t)
	o := probeOpts(broker.URL())
	var dialed []string
	o.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialed = append(dialed, addr)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	res := mqttlink.Probe(context.Background(), o, mqttlink.ProbeOptions{Timeout: 10 * time.Second})
	if !res.OK || len(dialed) != 1 || dialed[0] != broker.Addr() {
		t.Errorf("probe %s, dialed %q", steps(res), dialed)
	}
}
