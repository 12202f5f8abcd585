package serve_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/station/serve"
)

// TestConsolePages: the console is served from the binary with its
// security headers; its script never writes HTML from data.
func TestConsolePages(t *testing.T) {
	_, c, _ := station(t, serve.Options{})
	for _, p := range []struct{ path, ctype, has string }{
		{"/", "text/html", `<script src="/static/app.js"`},
		{"/static/app.js", "javascript", "textContent"},
		{"/static/app.css", "text/css", ".lv1"},
	} {
		resp, err := http.Get(c.base + p.path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		h := resp.Header
		if resp.StatusCode != 200 || !strings.Contains(h.Get("Content-Type"), p.ctype) || !strings.Contains(string(body), p.has) {
			t.Fatalf("GET %s: HTTP %d, %s, body without %q", p.path, resp.StatusCode, h.Get("Content-Type"), p.has)
		}
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("GET %s: headers %v", p.path, h)
		}
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "http://", "https://"} {
			if p.path == "/static/app.js" && strings.Contains(string(body), bad) {
				t.Fatalf("app.js uses %s", bad)
			}
		}
	}
}

// TestFirstVisitAccount: with no account, a visit from loopback may
// create the first one and is signed in; a request through a proxy may
// not; once an account exists nobody may.
func TestFirstVisitAccount(t *testing.T) {
	b := mqtttest.StartMosquitto(t)
	base := service(t, serve.Options{Broker: b.URL(), DB: filepath.Join(t.TempDir(), "station.db")})
	c := newAnon(t, base)
	var st struct{ Needed, Allowed bool }
	if code := c.do("GET", "/api/setup", nil, &st); code != 200 || !st.Needed || !st.Allowed {
		t.Fatalf("GET /api/setup on an empty store: HTTP %d %+v", code, st)
	}
	creds := map[string]string{"user": "值班员", "password": "first-account-pw"}
	if code := c.doHeaders("POST", "/api/setup", creds, nil, map[string]string{"X-Forwarded-For": "203.0.113.9"}); code != http.StatusForbidden {
		t.Fatalf("first account through a proxy: HTTP %d, want 403", code)
	}
	if code := c.do("POST", "/api/setup", map[string]string{"user": "x", "password": "short"}, nil); code != http.StatusBadRequest {
		t.Fatalf("first account with a short password: HTTP %d, want 400", code)
	}
	var in struct{ User, CSRF string }
	if code := c.do("POST", "/api/setup", creds, &in); code != 200 || in.User != "值班员" || in.CSRF == "" {
		t.Fatalf("first account: HTTP %d %+v", code, in)
	}
	if code := c.do("GET", "/api/orders", nil, nil); code != 200 {
		t.Fatalf("signed in after creating the first account: HTTP %d", code)
	}
	other := newAnon(t, base)
	if code := other.do("POST", "/api/setup", map[string]string{"user": "second", "password": "second-account-pw"}, nil); code != http.StatusForbidden {
		t.Fatalf("a second first account: HTTP %d, want 403", code)
	}
	if code := other.do("GET", "/api/setup", nil, &st); code != 200 || st.Needed || st.Allowed {
		t.Fatalf("GET /api/setup with an account: HTTP %d %+v", code, st)
	}
	signIn(t, base, "值班员", "first-account-pw")
}

func newAnon(t *testing.T, base string) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// TestSignInLimit: after 5 wrong passwords an account answers 429, even
// to the right password, with Retry-After; other accounts still sign in.
func TestSignInLimit(t *testing.T) {
	_, c, db := station(t, serve.Options{})
	if err := serve.AddUser(context.Background(), db, "other", "other-password"); err != nil {
		t.Fatal(err)
	}
	anon := newAnon(t, c.base)
	for i := range 5 {
		if code := anon.do("POST", "/api/login", map[string]string{"user": user, "password": "wrong password!"}, nil); code != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: HTTP %d, want 401", i+1, code)
		}
	}
	b, err := json.Marshal(map[string]string{"user": user, "password": password})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(c.base+"/api/login", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("the right password after 5 failures: HTTP %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	signIn(t, c.base, "other", "other-password")
}

// TestLiveStream: a ticket published to the broker reaches an open
// /api/stream as a "feed" event after its commit; without a session the
// stream is refused.
func TestLiveStream(t *testing.T) {
	b, c, _ := station(t, serve.Options{})
	if code := newAnon(t, c.base).do("GET", "/api/stream", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("stream without a session: HTTP %d, want 401", code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/api/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Jar: c.hc.Jar} // no timeout: a stream
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := make(chan string, 16)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok && d != "{}" {
				events <- d
			}
		}
	}()
	tk := event(gwID, 1, rules.Open, "20261205T080000.000", 1)
	newPublisher(t, b.URL()).pub(topics.Tickets(), false, payload(t, tk))
	select {
	case d := <-events:
		var ev struct {
			Kind     string
			TicketID string `json:"ticket_id"`
			LabelZh  string `json:"label_zh"`
		}
		if err := json.Unmarshal([]byte(d), &ev); err != nil {
			t.Fatalf("feed event %s: %v", d, err)
		}
		if ev.Kind != "ticket" || ev.TicketID != tk.TicketID || ev.LabelZh != "烟感火警" {
			t.Fatalf("feed event %s", d)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no feed event within 30 s of the publish")
	}
	cancel()
	for range events { // the reader ends with the stream
	}
}
