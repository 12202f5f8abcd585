package serve_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/downlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/station/serve"
	"github.com/fenghuo-iot/fenghuo/uplink/station/store"
)

// TestAuth: no credentials 401; a wrong password 401; a session without
// or with a wrong CSRF token cannot change anything (403); the cookie is
// HttpOnly and SameSite=Strict; an API token works without CSRF.
func TestAuth(t *testing.T) {
	b, c, db := station(t, serve.Options{})
	newPublisher(t, b.URL()).pub(topics.Tickets(), false, payload(t, event(gwID, 1, rules.Open, "20261205T080000.000", 1)))
	poll(t, "the order", func() bool { return counts(c).OpenOrders == 1 })

	anon := &client{t: t, base: c.base, hc: &http.Client{Timeout: 10 * time.Second}}
	if code := anon.do("GET", "/api/orders", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("no credentials: HTTP %d, want 401", code)
	}
	if code := anon.do("POST", "/api/login", map[string]string{"user": user, "password": "wrong password!"}, nil); code != http.StatusUnauthorized {
		t.Fatalf("wrong password: HTTP %d, want 401", code)
	}
	resp, err := http.Post(c.base+"/api/login", "application/json", strings.NewReader(`{"user":"`+user+`","password":"`+password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ck := resp.Cookies()
	if len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict", ck)
	}
	note := map[string]string{"note": "x"}
	for _, csrf := range []string{"", "not-the-token"} {
		if code := c.doHeaders("POST", "/api/orders/1/false_alarm", note, nil, map[string]string{"X-CSRF-Token": csrf}); code != http.StatusForbidden {
			t.Fatalf("CSRF token %q: HTTP %d, want 403", csrf, code)
		}
	}
	if code := c.doHeaders("POST", "/api/orders/1/false_alarm", note, nil, map[string]string{"X-CSRF-Token": c.csrf, "Content-Type": "text/plain"}); code != http.StatusUnsupportedMediaType {
		t.Fatalf("a form post: HTTP %d, want 415", code)
	}
	tok, err := serve.NewToken(context.Background(), db, user)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Order store.Order }
	if code := anon.doHeaders("POST", "/api/orders/1/false_alarm", note, &out, map[string]string{"Authorization": "Bearer " + tok}); code != 200 || out.Order.Status != store.StatusFalseAlarm {
		t.Fatalf("API token: HTTP %d, order %+v", code, out.Order)
	}
	if code := anon.doHeaders("GET", "/api/orders", nil, nil, map[string]string{"Authorization": "Bearer " + tok + "x"}); code != http.StatusUnauthorized {
		t.Fatalf("a wrong token: HTTP %d, want 401", code)
	}
	kept := c.hc.Jar.Cookies(resp.Request.URL) // the session cookie, kept by an attacker
	if len(kept) != 1 {
		t.Fatalf("cookies %v, want the session", kept)
	}
	if code := c.do("POST", "/api/logout", map[string]string{}, nil); code != 200 {
		t.Fatalf("logout: HTTP %d", code)
	}
	c.hc.Jar.SetCookies(resp.Request.URL, kept)
	if code := c.do("GET", "/api/orders", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("a session after sign-out: HTTP %d, want 401", code)
	}
}

// TestLifecycleAPI: acknowledge sends the ack downlink (a subscriber on
// the gateway's cmd topic receives it), then resolve and review; a step
// out of order is refused with 409.
func TestLifecycleAPI(t *testing.T) {
	b, c, _ := station(t, serve.Options{})
	cmds := mqtttest.Subscribe(t, b.URL(), topics.Cmd())
	tk := event(gwID, 1, rules.Open, "20261205T080000.000", 1)
	newPublisher(t, b.URL()).pub(topics.Tickets(), false, payload(t, tk))
	poll(t, "the order", func() bool { return counts(c).OpenOrders == 1 })

	if code := c.do("POST", "/api/orders/1/review", map[string]string{}, nil); code != http.StatusConflict {
		t.Fatalf("review of an open order: HTTP %d, want 409", code)
	}
	var out struct {
		Order    store.Order
		Downlink string
	}
	if code := c.do("POST", "/api/orders/1/acknowledge", map[string]string{"note": "派人前往"}, &out); code != 200 || out.Downlink != "sent" || out.Order.StatusZh != "处置中" {
		t.Fatalf("acknowledge: HTTP %d %+v", code, out)
	}
	msgs := cmds.WaitFor(1, 10*time.Second)
	var cmd downlink.Command
	if err := json.Unmarshal(msgs[0].Payload, &cmd); err != nil {
		t.Fatal(err)
	}
	if cmd.Cmd != downlink.CmdAck || cmd.TicketID != tk.TicketID || cmd.By != user || cmd.TS == "" {
		t.Fatalf("ack downlink %+v", cmd)
	}
	for _, a := range []string{"resolve", "review"} {
		if code := c.do("POST", "/api/orders/1/"+a, map[string]string{"note": "厨房油烟，已通风"}, &out); code != 200 {
			t.Fatalf("%s: HTTP %d", a, code)
		}
	}
	var one struct {
		Order  store.Order
		Steps  []store.Step
		Events []json.RawMessage
	}
	if code := c.do("GET", "/api/orders/1", nil, &one); code != 200 || one.Order.StatusZh != "已复核" || len(one.Steps) != 4 || len(one.Events) != 1 {
		t.Fatalf("order: HTTP %d %+v", code, one)
	}
	if s := one.Steps[1]; s.By != user || s.Note != "派人前往" {
		t.Fatalf("acknowledge step %+v", s)
	}
	if code := c.do("GET", "/api/orders/99", nil, nil); code != http.StatusNotFound {
		t.Fatalf("unknown order: HTTP %d", code)
	}
}

// TestSignedAck: with --key-dir holding the gateway's command key, the
// ack downlink carries a valid signature over topic + "\n" + body.
func TestSignedAck(t *testing.T) {
	dir := t.TempDir()
	key := []byte("0123456789abcdef0123456789abcdef0123456789abcdef")
	if err := os.WriteFile(filepath.Join(dir, gwID+".key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	b, c, _ := station(t, serve.Options{KeyDir: dir})
	cmds := mqtttest.Subscribe(t, b.URL(), topics.Cmd())
	newPublisher(t, b.URL()).pub(topics.Tickets(), false, payload(t, event(gwID, 1, rules.Open, "20261205T080000.000", 1)))
	poll(t, "the order", func() bool { return counts(c).OpenOrders == 1 })
	var out struct{ Downlink string }
	if code := c.do("POST", "/api/orders/1/acknowledge", map[string]string{}, &out); code != 200 || out.Downlink != "sent" {
		t.Fatalf("acknowledge: HTTP %d %+v", code, out)
	}
	p := string(cmds.WaitFor(1, 10*time.Second)[0].Payload)
	i := strings.LastIndex(p, `,"sig":"`)
	if i < 0 || !strings.HasSuffix(p, `"}`) {
		t.Fatalf("unsigned ack: %s", p)
	}
	body, sig := p[:i]+"}", p[i+len(`,"sig":"`):len(p)-2]
	if want := downlink.Signature(key, topics.Cmd(), []byte(body)); sig != want {
		t.Fatalf("signature %s, want %s over %s", sig, want, body)
	}
}
