package downlink

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	testKey   = []byte("0123456789abcdef0123456789abcdef-test")
	testTopic = "fenghuo/v1/330502103/gw-1/cmd"
	testNow   = time.Date(2026, 12, 4, 16, 30, 0, 0, time.UTC)
)

func ts(d time.Duration) string { return testNow.Add(d).Format(time.RFC3339Nano) }

func signed(t *testing.T, key []byte, topic, body string) []byte {
	t.Helper()
	p, err := Sign(key, topic, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGuardSigned(t *testing.T) {
	g := NewGuard(testKey)
	ok := signed(t, testKey, testTopic, `{"id":"c1","cmd":"ack","ticket_id":"t","by":"张三","ts":"`+ts(-time.Minute)+`"}`)
	cmd, sig, err := g.Check(testTopic, ok, false, testNow)
	if err != nil || !sig || cmd.ID != "c1" || cmd.By != "张三" {
		t.Fatalf("signed ack: %+v, %v, %v", cmd, sig, err)
	}
	for _, c := range []struct {
		name    string
		payload []byte
		retain  bool
		want    error
		text    string
	}{
		{"replayed", ok, false, ErrReplayed, `"c1" was already used`},
		{"unsigned", []byte(`{"id":"c2","cmd":"ping","ts":"` + ts(0) + `"}`), false, ErrUnsigned, `field "sig": is required`},
		{"other key", signed(t, []byte("another key of at least thirty-two bytes"), testTopic, `{"id":"c3","cmd":"ping","ts":"`+ts(0)+`"}`), false, ErrBadSignature, "bad signature"},
		{"other gateway's topic", signed(t, testKey, "fenghuo/v1/330502103/gw-2/cmd", `{"id":"c4","cmd":"ping","ts":"`+ts(0)+`"}`), false, ErrBadSignature, "bad signature"},
		{"body changed", []byte(strings.Replace(string(signed(t, testKey, testTopic, `{"id":"c5","cmd":"ack","ticket_id":"t","by":"a","ts":"`+ts(0)+`"}`)), `"by":"a"`, `"by":"b"`, 1)), false, ErrBadSignature, "bad signature"},
		{"sig not last", []byte(`{"sig":"` + strings.Repeat("0", 64) + `","id":"c6","cmd":"ping"}`), false, nil, "must be the last member"},
		{"stale", signed(t, testKey, testTopic, `{"id":"c7","cmd":"ping","ts":"`+ts(-6*time.Minute)+`"}`), false, ErrStale, "6m0s old, older than the 5m0s allowed"},
		{"ahead", signed(t, testKey, testTopic, `{"id":"c8","cmd":"ping","ts":"`+ts(6*time.Minute)+`"}`), false, ErrStale, "ahead of the gateway's clock"},
		{"no ts", signed(t, testKey, testTopic, `{"id":"c9","cmd":"ping"}`), false, nil, `field "ts": is required in a signed command`},
		{"retained", signed(t, testKey, testTopic, `{"id":"c10","cmd":"ping","ts":"`+ts(0)+`"}`), true, ErrRetained, "retained commands are refused"},
		{"control, signed, no device", signed(t, testKey, testTopic, `{"id":"c11","cmd":"control","ts":"`+ts(0)+`"}`), false, nil, `field "device": is required`},
		{"config, signed, no yaml", signed(t, testKey, testTopic, `{"id":"c13","cmd":"config","ts":"`+ts(0)+`"}`), false, nil, `field "config": is required`},
		{"config, unsigned", []byte(`{"id":"c14","cmd":"config","config":"gateway: {}"}`), false, ErrUnsigned, `field "sig": is required`},
	} {
		_, _, err := g.Check(testTopic, c.payload, c.retain, testNow)
		if err == nil || !strings.Contains(err.Error(), c.text) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: %v; want %q (%v)", c.name, err, c.text, c.want)
		}
		if err != nil && strings.Contains(err.Error(), string(testKey)) {
			t.Errorf("%s: the key leaked into %q", c.name, err)
		}
	}
	// An ack may be 24 h old (queued by the broker while the gateway was offline).
	late := signed(t, testKey, testTopic, `{"id":"c12","cmd":"ack","ticket_id":"t","by":"a","ts":"`+ts(-23*time.Hour)+`"}`)
	if _, _, err := g.Check(testTopic, late, false, testNow); err != nil {
		t.Errorf("ack 23 h old: %v", err)
	}
}

func TestGuardUnkeyed(t *testing.T) {
	g := NewGuard(nil)
	for body, want := range map[string]string{
		`{"id":"u1","cmd":"ping"}`:                                 "",
		`{"id":"u2","cmd":"ping","ts":"` + ts(-time.Minute) + `"}`: "",
		`{"id":"u3","cmd":"ping","ts":"` + ts(-time.Hour) + `"}`:   "older than the 5m0s allowed",
		`{"id":"u4","cmd":"ping","ts":"yesterday"}`:                "not an RFC 3339 time",
		// control and config must be signed, even before they exist.
		`{"id":"u5","cmd":"control","action":"mute"}`: `"control" commands must be signed`,
		`{"id":"u6","cmd":"config"}`:                  `"config" commands must be signed`,
	} {
		_, sig, err := g.Check(testTopic, []byte(body), false, testNow)
		if sig || (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: signed %v, %v; want %q", body, sig, err, want)
		}
	}
	// Without a key a signature is not checked; the body is what runs.
	p := signed(t, []byte("some other key, thirty-two bytes or more"), testTopic, `{"id":"u7","cmd":"ping"}`)
	if cmd, sig, err := g.Check(testTopic, p, false, testNow); err != nil || sig || cmd.ID != "u7" {
		t.Errorf("signed, no key: %+v %v %v", cmd, sig, err)
	}
	// The same unsigned id twice is not a replay (nothing proves who sent it).
	if _, _, err := g.Check(testTopic, []byte(`{"id":"u1","cmd":"ping"}`), false, testNow); err != nil {
		t.Errorf("unsigned id again: %v", err)
	}
}

// TestGuardReplayBounded: the replay memory forgets the oldest ids past
// MaxSeen and ids whose window is over.
func TestGuardReplayBounded(t *testing.T) {
	g := NewGuard(testKey)
	for i := range MaxSeen + 10 {
		if err := g.remember("id-"+strconv.Itoa(i), testNow, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if len(g.seen) > MaxSeen || len(g.fifo) > MaxSeen {
		t.Errorf("remembered %d ids (%d in order), want ≤ %d", len(g.seen), len(g.fifo), MaxSeen)
	}
	if err := g.remember("late", testNow, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := g.remember("late", testNow.Add(3*time.Minute), time.Minute); err != nil {
		t.Errorf("an id past its window is forgotten: %v", err)
	}
}

func TestLimiterPerKind(t *testing.T) {
	l := NewLimiter()
	diag := 0
	for range 1000 {
		if l.Allow(CmdDiag, testNow) {
			diag++
		}
	}
	if diag != PolicyOf(CmdDiag).Burst {
		t.Errorf("%d diag admitted at once, want the burst %d", diag, PolicyOf(CmdDiag).Burst)
	}
	if !l.Allow(CmdAck, testNow) {
		t.Error("an ack is refused after a diag flood: kinds must not share a budget")
	}
	if !l.Allow(CmdDiag, testNow.Add(2*time.Second)) {
		t.Error("the diag budget does not refill")
	}
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secret := strings.Repeat("k", 40)
	if k, err := LoadKey(write("ok", secret+"\n", 0o600)); err != nil || string(k) != secret {
		t.Errorf("LoadKey: %q, %v", k, err)
	}
	for name, c := range map[string]struct {
		text string
		mode os.FileMode
		want string
	}{
		"world": {secret, 0o604, "accessible to other users (mode 0604)"},
		"short": {"short", 0o600, "holds 5 bytes, want at least 32"},
	} {
		_, err := LoadKey(write(name, c.text, c.mode))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), secret) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	if _, err := LoadKey(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing cannot be read") {
		t.Errorf("missing: %v", err)
	}
}

// TestDocsSignatureExample: the worked example in docs/tickets.md §6 is
// right, so a platform developer can check their implementation on it.
func TestDocsSignatureExample(t *testing.T) {
	f, err := os.Open("../../docs/tickets.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ex := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		for _, k := range []string{"key", "topic", "body", "sig", "payload"} {
			if v, ok := strings.CutPrefix(sc.Text(), k+" = "); ok {
				ex[k] = v
			}
		}
	}
	if len(ex) != 5 {
		t.Fatalf("docs/tickets.md: the signature example lines (key = …, topic = …, body = …, sig = …, payload = …): found %v", ex)
	}
	if got := Signature([]byte(ex["key"]), ex["topic"], []byte(ex["body"])); got != ex["sig"] {
		t.Errorf("docs example: sig %s, computed %s", ex["sig"], got)
	}
	p, err := Sign([]byte(ex["key"]), ex["topic"], []byte(ex["body"]))
	if err != nil || string(p) != ex["payload"] {
		t.Errorf("docs example: payload\n%s\nSign gives\n%s (%v)", ex["payload"], p, err)
	}
	var c Command
	now := time.Date(2026, 11, 29, 8, 10, 12, 0, time.FixedZone("CST", 8*3600))
	if c, _, err = NewGuard([]byte(ex["key"])).Check(ex["topic"], []byte(ex["payload"]), false, now); err != nil || c.Cmd != CmdAck {
		t.Errorf("docs example refused: %+v %v", c, err)
	}
}
