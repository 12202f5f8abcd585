package serve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/station/serve"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

const (
	township = "330502103"
	gwID     = "gw-330502103-yuncun-01"
)

var topics = ticket.Topics{Prefix: "fenghuo/v1", Township: township, Gateway: gwID}

// event builds a schema-valid ticket event of gateway gw with uplink/ticket.
func event(gw string, seq uint64, kind rules.Kind, episode string, level int) ticket.Ticket {
	v := 1.0
	ev := rules.Event{Kind: kind, TicketID: "smoke-1/R1/" + episode, Device: "smoke-1", Rule: "R1", Hazard: "smoke_fire_alarm",
		Level: level, At: time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC), OccurrenceCount: 1,
		Evidence: rules.Evidence{Point: "alarm", Value: &v}, After: rules.ConditionAlarm}
	if kind == rules.Clear {
		ev.After = rules.ConditionNormal
	}
	tk := ticket.FromEvent(ev,
		ticket.HazardMeta{Code: "smoke_fire_alarm", Zh: "烟感火警", En: "Smoke fire alarm", Kind: "alarm", Category: "smoke"},
		ticket.Gateway{ID: gw, Site: ticket.Site{Name: "云村文化礼堂", Township: "织里镇", TownshipCode: township}},
		ticket.Device{ID: "smoke-1", Name: "一楼厨房烟感", Profile: "smoke-detector", Location: "一楼厨房", Bus: "rs485-1", Slave: 1})
	tk.Seq = seq
	tk.PublishedAt = ticket.FormatTime(time.Now())
	return tk
}

func payload(t testing.TB, tk ticket.Ticket) []byte {
	t.Helper()
	p, err := tk.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func status(gw, state string, depth int) []byte {
	s := ticket.Status{Schema: ticket.StatusSchema, Gateway: gw, State: state, Version: "0.3.0",
		StartedAt: ticket.FormatTime(time.Now()), At: ticket.FormatTime(time.Now()), BufferDepth: depth}
	p, err := s.Marshal()
	if err != nil {
		panic(err)
	}
	return p
}

// publisher is a paho client that publishes at QoS 1 and waits for PUBACK.
type publisher struct {
	t testing.TB
	c paho.Client
}

func newPublisher(t testing.TB, url string) *publisher {
	t.Helper()
	c, err := connectPublisher(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return &publisher{t: t, c: c}
}

func connectPublisher(url string) (paho.Client, error) {
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("pub-%d", time.Now().UnixNano())))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("publisher connect %s: %v", url, tok.Error())
	}
	return c, nil
}

func (p *publisher) pub(topic string, retained bool, payload []byte) {
	p.t.Helper()
	tok := p.c.Publish(topic, 1, retained, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		p.t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// service runs serve.Run in the test and returns the API's base URL.
func service(t *testing.T, o serve.Options) string {
	t.Helper()
	if o.DB == "" {
		o.DB = filepath.Join(t.TempDir(), "station.db")
	}
	o.Listen = "127.0.0.1:0"
	ready := make(chan string, 1)
	o.Ready = func(addr string) { ready <- addr }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve.Run(ctx, o) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve.Run: %v", err)
		}
	})
	scheme := "http://"
	if o.TLSCert != "" {
		scheme = "https://"
	}
	select {
	case addr := <-ready:
		return scheme + addr
	case err := <-done:
		t.Fatalf("serve.Run ended at start: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("station serve not ready within 20 s")
	}
	return ""
}

// client is a signed-in API client.
type client struct {
	t    testing.TB
	base string
	hc   *http.Client
	csrf string
}

func signIn(t testing.TB, base, user, password string) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	var out struct{ CSRF string }
	if code := c.do("POST", "/api/login", map[string]string{"user": user, "password": password}, &out); code != 200 {
		t.Fatalf("sign in as %s: HTTP %d", user, code)
	}
	c.csrf = out.CSRF
	return c
}

// do sends a JSON request (with the CSRF token when the client has one)
// and decodes the answer into out; it returns the status code.
func (c *client) do(method, path string, body, out any) int {
	c.t.Helper()
	return c.doHeaders(method, path, body, out, map[string]string{"X-CSRF-Token": c.csrf})
}

func (c *client) doHeaders(method, path string, body, out any, hdr map[string]string) int {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if out != nil && resp.StatusCode < 300 {
		if sp, ok := out.(*[]byte); ok {
			*sp = b
		} else if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// poll calls cond until it is true or 30 s pass.
func poll(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling the outcome, bounded by the deadline
	}
}
