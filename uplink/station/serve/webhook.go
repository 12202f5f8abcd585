package serve

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/station/store"
)

// The webhook (issue 12, Build 3): every ticket event the station stores
// is POSTed, as received, to the township platform's URL — in the order it
// was stored, at least once, one at a time. Its queue is the store itself:
// a cursor (the last event id the platform accepted, kept in the store)
// moves only after a 2xx, so a restart, a kill or a platform outage of
// any length resumes where delivery stopped; nothing is queued in memory.
// A failed POST is retried with exponential backoff (1 s doubling to
// 5 min, jittered) — the next event waits behind it, so the platform sees
// the station's order.

const (
	webhookCursor     = "webhook"
	webhookBatch      = 64
	webhookTimeout    = 10 * time.Second
	webhookMinBackoff = time.Second
	webhookMaxBackoff = 5 * time.Minute
	webhookIdle       = 5 * time.Second // re-read the store this often without a wake-up
)

// webhook delivers the store's events to one URL.
type webhook struct {
	url    string
	secret []byte // HMAC-SHA256 key of the X-Fenghuo-Signature header; nil: unsigned
	feed   store.Feed
	client *http.Client
	wake   chan struct{}
	logf   func(string, ...any)
	sleep  func(ctx context.Context, d time.Duration) bool
}

func newWebhook(rawURL string, secret []byte, feed store.Feed, logf func(string, ...any)) *webhook {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	tr.MaxIdleConnsPerHost = 1
	return &webhook{url: rawURL, secret: secret, feed: feed, logf: logf, wake: make(chan struct{}, 1),
		client: &http.Client{Timeout: webhookTimeout, Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		sleep: sleepCtx}
}

// notify wakes the sender after a commit; it never blocks.
func (w *webhook) notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run delivers until ctx is done.
func (w *webhook) run(ctx context.Context) {
	cursor, err := w.feed.Cursor(ctx, webhookCursor)
	for err != nil {
		w.logf("station serve: webhook: %v (retrying)", err)
		if !w.sleep(ctx, webhookMinBackoff) {
			return
		}
		cursor, err = w.feed.Cursor(ctx, webhookCursor)
	}
	for ctx.Err() == nil {
		evs, err := w.feed.EventsAfter(ctx, cursor, webhookBatch)
		if err != nil {
			w.logf("station serve: webhook: %v", err)
		}
		for _, e := range evs {
			if !w.deliver(ctx, e) {
				return
			}
			cursor = e.ID
		}
		if len(evs) == webhookBatch {
			continue
		}
		select {
		case <-w.wake:
		case <-time.After(webhookIdle):
		case <-ctx.Done():
		}
	}
}

// deliver POSTs e until the platform accepts it, then moves the cursor;
// false when ctx ended first.
func (w *webhook) deliver(ctx context.Context, e store.FeedEvent) bool {
	backoff := webhookMinBackoff
	for attempt := 1; ; attempt++ {
		err := w.post(ctx, e)
		if err == nil {
			for {
				if err := w.feed.SetCursor(ctx, webhookCursor, e.ID); err == nil || ctx.Err() != nil {
					return ctx.Err() == nil
				} else if !w.retry(ctx, fmt.Errorf("store the cursor: %w", err), e, attempt, &backoff) {
					return false
				}
			}
		}
		if !w.retry(ctx, err, e, attempt, &backoff) {
			return false
		}
	}
}

// retry logs a failed attempt and waits the jittered backoff.
func (w *webhook) retry(ctx context.Context, err error, e store.FeedEvent, attempt int, backoff *time.Duration) bool {
	wait := *backoff/2 + rand.N(*backoff/2+1)
	w.logf("station serve: webhook: event %s, attempt %d: %v (next try in %s)", e.EventID, attempt, err, wait.Round(time.Millisecond))
	*backoff = min(2**backoff, webhookMaxBackoff)
	return w.sleep(ctx, wait)
}

// post sends one event; a non-2xx answer is an error.
func (w *webhook) post(ctx context.Context, e store.FeedEvent) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(e.Payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "fenghuo-station")
	req.Header.Set("X-Fenghuo-Event-Id", e.EventID)
	if w.secret != nil {
		req.Header.Set("X-Fenghuo-Signature", "sha256="+Sign(w.secret, e.Payload))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// Sign is the webhook's signature of body: hex HMAC-SHA256 under secret,
// sent as "X-Fenghuo-Signature: sha256=<hex>" (the receiver recomputes it
// over the raw body and compares in constant time).
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// checkWebhookURL: http(s) with a host; plain http only to a loopback
// host (the payload is a fire-safety record; TLS verification stays on).
func checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("--webhook %q: want an http(s) URL with a host", raw)
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		return fmt.Errorf("--webhook %q: plain http only to a loopback host; use https", raw)
	}
	return nil
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// readSecret reads the webhook's signing key (trimmed); "" is no key.
func readSecret(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("station serve: --webhook-secret-file: %w", err)
	}
	k := bytes.TrimSpace(b)
	if len(k) < 16 {
		return nil, fmt.Errorf("station serve: --webhook-secret-file %s: %d bytes; a signing key needs at least 16", path, len(k))
	}
	return k, nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
