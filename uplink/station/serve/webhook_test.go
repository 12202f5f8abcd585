package serve_test

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/station/serve"
)

// platform is the township platform at the webhook's other end: an HTTP
// server that keeps the event ids of the bodies it accepted, after
// checking each body's signature; refuse(n) makes the next n POSTs fail
// with 503.
type platform struct {
	t      *testing.T
	secret []byte
	mu     sync.Mutex
	got    []string
	refuse int
	tries  int
	srv    *httptest.Server
}

func newPlatform(t *testing.T, secret []byte) *platform {
	p := &platform{t: t, secret: secret}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *platform) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	want := "sha256=" + serve.Sign(p.secret, body)
	if p.secret == nil {
		want = "" // an unsigned webhook sends no signature
	}
	if !hmac.Equal([]byte(r.Header.Get("X-Fenghuo-Signature")), []byte(want)) {
		p.t.Errorf("webhook POST with signature %q, want %q", r.Header.Get("X-Fenghuo-Signature"), want)
	}
	var ev struct {
		EventID string `json:"event_id"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.EventID == "" || ev.EventID != r.Header.Get("X-Fenghuo-Event-Id") {
		p.t.Errorf("webhook body %q (header event id %q): %v", body, r.Header.Get("X-Fenghuo-Event-Id"), err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tries++
	if p.refuse > 0 {
		p.refuse--
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	p.got = append(p.got, ev.EventID)
	w.WriteHeader(http.StatusNoContent)
}

func (p *platform) accepted() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.got...)
}

func (p *platform) setRefuse(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = n
}

func secretFile(t *testing.T, key string) string {
	f := filepath.Join(t.TempDir(), "webhook.key")
	if err := os.WriteFile(f, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestWebhookDeliversInOrderThroughRefusals: the platform refuses the
// first three POSTs; every event still arrives once, in the order the
// station stored it, each body signed.
func TestWebhookDeliversInOrderThroughRefusals(t *testing.T) {
	const key = "township-platform-key-01"
	plat := newPlatform(t, []byte(key))
	plat.setRefuse(3)
	b := mqtttest.StartMosquitto(t)
	service(t, serve.Options{Broker: b.URL(), Township: township, Webhook: plat.srv.URL, WebhookSecretFile: secretFile(t, key)})
	p := newPublisher(t, b.URL())
	var want []string
	for seq := uint64(1); seq <= 6; seq++ {
		tk := event(gwID, seq, rules.Open, fmt.Sprintf("20261205T0800%02d.000", seq), 2)
		want = append(want, tk.EventID)
		p.pub(topics.Tickets(), false, payload(t, tk))
	}
	poll(t, "six events accepted by the platform", func() bool { return len(plat.accepted()) >= 6 })
	if got := plat.accepted(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("platform accepted %v, want %v (in order, once each)", got, want)
	}
	if plat.tries < 9 {
		t.Fatalf("%d POSTs for 6 events and 3 refusals", plat.tries)
	}
}

// TestWebhookResumesAfterRestart: events stored while the platform is down
// reach it from a restarted station (the cursor is in the store, not in
// memory), and what it accepted is not sent again.
func TestWebhookResumesAfterRestart(t *testing.T) {
	plat := newPlatform(t, nil)
	plat.setRefuse(1 << 30) // down
	b := mqtttest.StartMosquitto(t)
	db := filepath.Join(t.TempDir(), "station.db")
	o := serve.Options{Broker: b.URL(), Township: township, DB: db, Webhook: plat.srv.URL}
	ctx, cancel := context.WithCancel(context.Background())
	first := runService(t, ctx, o)
	p := newPublisher(t, b.URL())
	var want []string
	publish := func(seq uint64) {
		tk := event(gwID, seq, rules.Open, fmt.Sprintf("20261205T0900%02d.000", seq), 3)
		want = append(want, tk.EventID)
		p.pub(topics.Tickets(), false, payload(t, tk))
	}
	for seq := uint64(1); seq <= 4; seq++ {
		publish(seq)
	}
	poll(t, "the platform refused a POST", func() bool { plat.mu.Lock(); defer plat.mu.Unlock(); return plat.tries > 0 })
	cancel()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if n := len(plat.accepted()); n != 0 {
		t.Fatalf("a platform that refuses everything accepted %d", n)
	}

	plat.setRefuse(0) // back up
	ctx, cancel = context.WithCancel(context.Background())
	second := runService(t, ctx, o)
	poll(t, "the four events stored while the platform was down", func() bool { return len(plat.accepted()) >= 4 })
	publish(5)
	poll(t, "the fifth", func() bool { return len(plat.accepted()) >= 5 })
	cancel()
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	// A third start resumes after the fifth: the sixth comes next, alone.
	service(t, o)
	publish(6)
	poll(t, "the sixth", func() bool { return len(plat.accepted()) >= 6 })
	if got := plat.accepted(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("platform accepted %v, want %v", got, want)
	}
}

// runService runs serve.Run until ctx ends; the channel gets its result.
func runService(t *testing.T, ctx context.Context, o serve.Options) <-chan error {
	t.Helper()
	o.Listen = "127.0.0.1:0"
	ready := make(chan string, 1)
	o.Ready = func(addr string) { ready <- addr }
	done := make(chan error, 1)
	go func() { done <- serve.Run(ctx, o) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("serve.Run ended at start: %v", err)
	}
	return done
}

func TestWebhookOptions(t *testing.T) {
	for _, c := range []struct {
		url, secret, want string
	}{
		{"http://platform.example/hook", "", "plain http only to a loopback host; use https"},
		{"ftp://platform.example/hook", "", "want an http(s) URL with a host"},
		{"https://platform.example/hook", "short", "a signing key needs at least 16"},
	} {
		o := serve.Options{Broker: "tcp://127.0.0.1:1", DB: filepath.Join(t.TempDir(), "s.db"), Listen: "127.0.0.1:0", Webhook: c.url}
		if c.secret != "" {
			o.WebhookSecretFile = secretFile(t, c.secret)
		}
		err := serve.Run(context.Background(), o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("webhook %s: err %v, want %q", c.url, err, c.want)
		}
	}
}
