package mqttlink_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// logRec is one captured slog record, its attributes resolved.
type logRec struct {
	at    time.Time
	level slog.Level
	msg   string
	attrs map[string]slog.Value
}

// logs captures what a link logs: the records, and the text a real
// slog.TextHandler renders from them (for "is the password anywhere").
type logs struct {
	mu   sync.Mutex
	recs []logRec
	text strings.Builder
}

func (l *logs) Write(p []byte) (int, error) { return l.text.Write(p) } // under l.mu (Handle)

func (l *logs) logger() *slog.Logger { return slog.New(&captureHandler{logs: l}) }

func (l *logs) Text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.text.String()
}

// matching returns the records whose message contains substr.
func (l *logs) matching(substr string) []logRec {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []logRec
	for _, r := range l.recs {
		if strings.Contains(r.msg, substr) {
			out = append(out, r)
		}
	}
	return out
}

// waitFor waits until n records contain substr and returns them.
func (l *logs) waitFor(t *testing.T, substr string, n int, timeout time.Duration) []logRec {
	t.Helper()
	var got []logRec
	waitUntil(t, fmt.Sprintf("%d log lines containing %q; log so far:\n%s", n, substr, l.Text()), timeout, func() bool {
		got = l.matching(substr)
		return len(got) >= n
	})
	return got
}

type captureHandler struct {
	logs  *logs
	attrs []slog.Attr
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *captureHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &captureHandler{logs: h.logs, attrs: append(slices.Clip(h.attrs), as...)}
}

func (h *captureHandler) WithGroup(string) slog.Handler { return h } // the link uses no groups

func (h *captureHandler) Handle(ctx context.Context, r slog.Record) error {
	rec := logRec{at: r.Time, level: r.Level, msg: r.Message, attrs: map[string]slog.Value{}}
	for _, a := range h.attrs {
		rec.attrs[a.Key] = a.Value.Resolve()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.Resolve()
		return true
	})
	h.logs.mu.Lock()
	defer h.logs.mu.Unlock()
	h.logs.recs = append(h.logs.recs, rec)
	return slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}).WithAttrs(h.attrs).Handle(ctx, r)
}

func pending(t *testing.T, ob outbox.Outbox) outbox.Stats {
	t.Helper()
	st, err := ob.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// deliveredInOrder waits for n distinct tickets and checks seqs 1..n, in
// order, all buffered (they waited in the outbox), and the outbox empty.
func deliveredInOrder(t *testing.T, rec *mqtttest.Recorder, ob outbox.Outbox, n int) {
	t.Helper()
	got := decode(t, rec.WaitUntil(fmt.Sprintf("%d tickets", n), 15*time.Second, distinct(n)))
	for i, tk := range got {
		if tk.Seq != uint64(i+1) || !tk.Buffered {
			t.Fatalf("ticket %d: seq %d buffered=%v, want seq %d buffered", i, tk.Seq, tk.Buffered, i+1)
		}
	}
	waitUntil(t, "the outbox to drain", 5*time.Second, func() bool {
		st := pending(t, ob)
		return st.Depth == 0 && st.Sent == uint64(n)
	})
}

// TestWrongPasswordRefusedRetriedAndKept: a broker that refuses the
// connection gets a clear log line per attempt (broker named, "not
// authorized", never the password), the link retries with growing backoff,
// and the events stay pending; a link with the right password then
// delivers all of them in seq order.
func TestWrongPasswordRefusedRetriedAndKept(t *testing.T) {
	const user, good, bad = "gw-yuncun-01", "Good-pw-7f3a19", "Wrong-pw-c91e02"
	b := mqtttest.StartMosquittoWith(t, mqtttest.Options{Users: map[string]string{user: good}})
	tickets := mqtttest.Subscribe(t, b.URL(), topics.Tickets())
	ob := outbox.NewMemory()
	appendN(t, ob, 1, 3)

	var lg logs
	var published atomic.Int32
	l, stop := start(t, mqttlink.Options{Broker: b.SecureURL(), Username: user, Password: bad, Outbox: ob,
		Logger: lg.logger(), OnPublished: func(outbox.Record, time.Time) { published.Add(1) }})
	// MinBackoff 100 ms, MaxBackoff 400 ms (see start): waits are drawn
	// from [50,100], [100,200], [200,400], [200,400] ms.
	refused := lg.waitFor(t, "not authorized", 4, 10*time.Second)
	var waits []time.Duration
	for i, r := range refused[:4] {
		if r.level != slog.LevelWarn || !strings.Contains(r.msg, "REFUSED") || !strings.Contains(r.msg, "events stay in the outbox") {
			t.Errorf("attempt %d: %s %q", i+1, r.level, r.msg)
		}
		if got := r.attrs["broker"].String(); got != b.SecureURL() {
			t.Errorf("attempt %d names broker %q, want %q", i+1, got, b.SecureURL())
		}
		if got := r.attrs["attempt"].Int64(); got != int64(i+1) {
			t.Errorf("attempt attr %d, want %d", got, i+1)
		}
		waits = append(waits, r.attrs["retry_in"].Duration())
		if i > 0 {
			if gap := r.at.Sub(refused[i-1].at); gap < waits[i-1] {
				t.Errorf("attempt %d came %v after the previous, before its backoff %v", i+1, gap, waits[i-1])
			}
		}
	}
	if waits[0] > 100*time.Millisecond || waits[2] < 200*time.Millisecond || waits[3] > 400*time.Millisecond {
		t.Errorf("backoff %v: want the first ≤ 100ms, the third ≥ 200ms, none above MaxBackoff 400ms", waits)
	}
	if st := pending(t, ob); l.Connected() || st.Depth != 3 || st.Sent != 0 || published.Load() != 0 {
		t.Fatalf("while refused: connected=%v depth=%d sent=%d published=%d, want 3 pending, nothing sent",
			l.Connected(), st.Depth, st.Sent, published.Load())
	}
	stop()
	if text := lg.Text(); strings.Contains(text, bad) || strings.Contains(text, good) {
		t.Fatalf("a password is in the log:\n%s", text)
	}
	if n := len(tickets.Messages()); n != 0 {
		t.Fatalf("%d tickets reached the broker through a refused connection", n)
	}
	if st := pending(t, ob); st.Depth != 3 || st.Sent != 0 {
		t.Fatalf("after the refused link stopped: depth %d sent %d, want 3 and 0", st.Depth, st.Sent)
	}

	// The right password, on the same outbox.
	var lg2 logs
	start(t, mqttlink.Options{Broker: b.SecureURL(), Username: user, Password: good, Outbox: ob, Logger: lg2.logger()})
	deliveredInOrder(t, tickets, ob, 3)
	if text := lg2.Text(); strings.Contains(text, good) || !strings.Contains(text, "uplink: connected") {
		t.Fatalf("second link log:\n%s", text)
	}
}

// TestTLSNeedsTheCA: against a TLS listener with a private CA, a link that
// trusts only the system roots fails verification with a clear line and
// delivers nothing; with CAFile set it delivers everything in order.
func TestTLSNeedsTheCA(t *testing.T) {
	pki := mqtttest.NewPKI(t)
	b := mqtttest.StartMosquittoWith(t, mqtttest.Options{TLS: pki.TLS(false)})
	tickets := mqtttest.Subscribe(t, b.URL(), topics.Tickets())
	ob := outbox.NewMemory()
	appendN(t, ob, 1, 2)

	var lg logs
	l, stop := start(t, mqttlink.Options{Broker: b.SecureURL(), Outbox: ob, Logger: lg.logger()})
	failed := lg.waitFor(t, "NOT TRUSTED", 2, 10*time.Second)
	if err := failed[0].attrs["err"].String(); !strings.Contains(err, "certificate") {
		t.Errorf("err attr %q does not mention the certificate", err)
	}
	if got := failed[0].attrs["broker"].String(); got != b.SecureURL() {
		t.Errorf("names broker %q, want %q", got, b.SecureURL())
	}
	if st := pending(t, ob); l.Connected() || st.Depth != 2 || st.Sent != 0 {
		t.Fatalf("unverified: connected=%v depth=%d sent=%d, want 2 pending", l.Connected(), st.Depth, st.Sent)
	}
	stop()
	if n := len(tickets.Messages()); n != 0 {
		t.Fatalf("%d tickets went over an unverified connection", n)
	}

	start(t, mqttlink.Options{Broker: b.SecureURL(), CAFile: pki.CAFile, Outbox: ob})
	deliveredInOrder(t, tickets, ob, 2)
}

// TestTLSClientCertificate: a listener with require_certificate refuses a
// link without a client certificate (clear line, nothing sent) and accepts
// one with CertFile and KeyFile.
func TestTLSClientCertificate(t *testing.T) {
	pki := mqtttest.NewPKI(t)
	b := mqtttest.StartMosquittoWith(t, mqtttest.Options{TLS: pki.TLS(true)})
	tickets := mqtttest.Subscribe(t, b.URL(), topics.Tickets())
	ob := outbox.NewMemory()
	appendN(t, ob, 1, 2)

	var lg logs
	_, stop := start(t, mqttlink.Options{Broker: b.SecureURL(), CAFile: pki.CAFile, Outbox: ob, Logger: lg.logger()})
	lg.waitFor(t, "client certificate", 2, 10*time.Second)
	if st := pending(t, ob); st.Depth != 2 || st.Sent != 0 {
		t.Fatalf("without a client certificate: depth %d sent %d, want 2 pending", st.Depth, st.Sent)
	}
	stop()

	start(t, mqttlink.Options{Broker: b.SecureURL(), CAFile: pki.CAFile, CertFile: pki.ClientCertFile, KeyFile: pki.ClientKeyFile, Outbox: ob})
	deliveredInOrder(t, tickets, ob, 2)
}
