package mqttlink

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

func TestNewReportsEveryMissingOption(t *testing.T) {
	_, err := New(Options{CertFile: "x"})
	for _, want := range []string{"Broker", "TownshipCode", "GatewayID", "Outbox", "KeyFile"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New error %v does not name %s", err, want)
		}
	}
}

func TestPasswordNeverLogged(t *testing.T) {
	var buf bytes.Buffer
	o := Options{Broker: "tcp://127.0.0.1:1", Password: "s3cret-pw", GatewayID: "gw-1", TownshipCode: "330502103", Outbox: outbox.NewMemory()}
	slog.New(slog.NewTextHandler(&buf, nil)).Info("link", "opts", o)
	if strings.Contains(buf.String(), "s3cret-pw") || !strings.Contains(buf.String(), "REDACTED") {
		t.Fatalf("log line: %s", buf.String())
	}
	// A password written into the broker URL is hidden too.
	buf.Reset()
	o.Broker, o.Password = "tcp://gw:url-pw-91@127.0.0.1:1883", ""
	slog.New(slog.NewTextHandler(&buf, nil)).Info("link", "opts", o)
	if strings.Contains(buf.String(), "url-pw-91") || !strings.Contains(buf.String(), "tcp://gw:xxxxx@127.0.0.1:1883") {
		t.Fatalf("log line: %s", buf.String())
	}
}

func TestFailureMessages(t *testing.T) {
	for _, c := range []struct {
		err  error
		tls  bool
		want string
	}{
		{packets.ErrorRefusedNotAuthorised, false, "REFUSED the connection: not authorized"},
		{packets.ErrorRefusedBadUsernameOrPassword, false, "REFUSED the connection: not authorized"},
		{packets.ErrorRefusedIDRejected, false, "client id rejected"},
		{fmt.Errorf("%w : %w", packets.ErrorNetworkError, &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), true, "NOT TRUSTED"},
		{fmt.Errorf("%w : %w", packets.ErrorNetworkError, x509.HostnameError{Host: "x"}), true, "does not name this host"},
		{fmt.Errorf("%w : %w", packets.ErrorNetworkError, errors.New("remote error: tls: certificate required")), true, "client certificate"},
		{fmt.Errorf("%w : %w", packets.ErrorNetworkError, &net.OpError{Op: "write", Err: os.NewSyscallError("write", syscall.ECONNRESET)}), true, "client certificate"},
		{fmt.Errorf("%w : %w", packets.ErrorNetworkError, &net.OpError{Op: "write", Err: os.NewSyscallError("write", syscall.ECONNRESET)}), false, "cannot reach the broker"},
		{fmt.Errorf("%w : %w", packets.ErrorNetworkError, errors.New("dial tcp: connection refused")), true, "cannot reach the broker"},
	} {
		if got := failureMessage(c.err, c.tls); !strings.Contains(got, c.want) || !strings.Contains(got, "events stay in the outbox") {
			t.Errorf("failureMessage(%v) = %q, want it to contain %q", c.err, got, c.want)
		}
	}
}
