package mqtttest

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Message is one message a Recorder received.
type Message struct {
	Topic    string
	Payload  []byte
	Retained bool
	At       time.Time
}

// Recorder is a QoS 1 subscriber that keeps every message it receives. It
// uses a persistent session (clean session off), so messages published
// while the broker restarts are queued for it and not lost.
type Recorder struct {
	t      testing.TB
	client paho.Client
	mu     sync.Mutex
	msgs   []Message
	wake   chan struct{}
}

var recorderN atomic.Int64

// Subscribe connects a Recorder to url and subscribes to topic (wildcards
// allowed) at QoS 1. It is disconnected in t.Cleanup.
func Subscribe(t testing.TB, url, topic string) *Recorder {
	t.Helper()
	r := &Recorder{t: t, wake: make(chan struct{}, 1)}
	id := fmt.Sprintf("mqtttest-rec-%d-%d", time.Now().UnixNano()%1e9, recorderN.Add(1))
	opts := paho.NewClientOptions().AddBroker(url).SetClientID(id).
		SetCleanSession(false).SetAutoReconnect(true).SetMaxReconnectInterval(500 * time.Millisecond).
		SetConnectRetry(true).SetConnectRetryInterval(200 * time.Millisecond).
		SetOrderMatters(true).SetDefaultPublishHandler(r.handle)
	r.client = paho.NewClient(opts)
	if tok := r.client.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtttest: recorder connect %s: %v", url, tok.Error())
	}
	if tok := r.client.Subscribe(topic, 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtttest: subscribe %s: %v", topic, tok.Error())
	}
	t.Cleanup(func() { r.client.Disconnect(100) })
	return r
}

func (r *Recorder) handle(_ paho.Client, m paho.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, Message{Topic: m.Topic(), Payload: m.Payload(), Retained: m.Retained(), At: time.Now()})
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Messages returns a copy of what has arrived so far.
func (r *Recorder) Messages() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.msgs...)
}

// WaitFor waits until at least n messages arrived and returns all of them;
// it fails the test after timeout.
func (r *Recorder) WaitFor(n int, timeout time.Duration) []Message {
	r.t.Helper()
	return r.WaitUntil(fmt.Sprintf("%d messages", n), timeout, func(m []Message) bool { return len(m) >= n })
}

// WaitUntil waits until cond holds for the messages received so far and
// returns them; it fails the test after timeout, naming what it waited for.
func (r *Recorder) WaitUntil(what string, timeout time.Duration, cond func([]Message) bool) []Message {
	r.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		msgs := r.Messages()
		if cond(msgs) {
			return msgs
		}
		select {
		case <-r.wake:
		case <-time.After(100 * time.Millisecond):
		case <-deadline.C:
			r.t.Fatalf("mqtttest: timed out after %s waiting for %s; got %d messages:\n%s", timeout, what, len(msgs), summary(msgs))
		}
	}
}

func summary(msgs []Message) string {
	var b strings.Builder
	for _, m := range msgs {
		p := string(m.Payload)
		if len(p) > 160 {
			p = p[:160] + "…"
		}
		fmt.Fprintf(&b, "  %s retained=%v %s\n", m.Topic, m.Retained, p)
	}
	return b.String()
}
