package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer the test reads while the demo writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond until it is true or the deadline passes.
func waitFor(t *testing.T, what string, max time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(max)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond) // polling the outcome, bounded by the deadline
	}
}

// TestDemoStation plays the demo with the station console (`demo
// --station`): the console's URL and one-time account are printed, the
// account signs in, the scenario's tickets arrive in the station's store
// as they are raised, and the console stays open after the summary until
// the run is stopped.
func TestDemoStation(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo scenario takes about 40 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out := &syncBuffer{}
	type ran struct {
		res Result
		err error
	}
	done := make(chan ran, 1)
	go func() {
		res, err := Run(ctx, Options{Out: out, Version: "test", Station: "127.0.0.1:0"})
		done <- ran{res, err}
	}()
	line := regexp.MustCompile(`station console: (http://127\.0\.0\.1:\d+/) — sign in as demo / (\S+) `)
	var m []string
	waitFor(t, "the console's URL and account", 60*time.Second, func() bool {
		m = line.FindStringSubmatch(out.String())
		return m != nil
	})
	c := signInDemo(t, m[1], m[2])
	waitFor(t, "the first ticket in the station's open orders", 90*time.Second, func() bool {
		var os struct{ Orders []struct{ Origin string } }
		return c.get("api/orders", &os) && len(os.Orders) > 0 && os.Orders[0].Origin == "gateway"
	})
	waitFor(t, "the console held open after the summary", 150*time.Second, func() bool {
		return strings.Contains(out.String(), "the station console stays open at "+m[1])
	})
	var n struct{ Events int }
	if !c.get("api/counts", &n) || n.Events != 8 {
		t.Fatalf("station stored %d ticket events, want the scenario's 8\n%s", n.Events, out.String())
	}
	cancel()
	r := <-done
	if r.err != nil || r.res.Lost != 0 {
		t.Fatalf("demo with the console: lost %d, %v\n%s", r.res.Lost, r.err, out.String())
	}
}

// demoClient is a signed-in HTTP client of the console's API.
type demoClient struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func signInDemo(t *testing.T, base, password string) *demoClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &demoClient{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
	body, err := json.Marshal(map[string]string{"user": demoUser, "password": password})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.hc.Post(base+"api/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("sign in with the printed account: HTTP %d", resp.StatusCode)
	}
	return c
}

func (c *demoClient) get(path string, out any) bool {
	resp, err := c.hc.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(out) == nil
}
