package serve_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/station/serve"
)

// TestTLS: with --tls-cert/--tls-key the API speaks HTTPS only and the
// session cookie is Secure.
func TestTLS(t *testing.T) {
	pki := mqtttest.NewPKI(t)
	b := mqtttest.StartMosquitto(t)
	db := filepath.Join(t.TempDir(), "station.db")
	if err := serve.AddUser(context.Background(), db, user, password); err != nil {
		t.Fatal(err)
	}
	base := service(t, serve.Options{Broker: b.URL(), DB: db, TLSCert: pki.ServerCertFile, TLSKey: pki.ServerKeyFile})
	ca, err := os.ReadFile(pki.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post(base+"/api/login", "application/json", strings.NewReader(`{"user":"`+user+`","password":"`+password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ck := resp.Cookies(); resp.StatusCode != 200 || len(ck) != 1 || !ck[0].Secure || !ck[0].HttpOnly {
		t.Fatalf("HTTPS sign-in: HTTP %d, cookies %+v: want one Secure HttpOnly cookie", resp.StatusCode, ck)
	}
	plain := &http.Client{Timeout: 10 * time.Second}
	if resp, err := plain.Get(strings.Replace(base, "https://", "http://", 1) + "/api/orders"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP to the TLS port: HTTP %d, want 400 (Go's answer to plain HTTP on TLS)", resp.StatusCode)
		}
	}
}
