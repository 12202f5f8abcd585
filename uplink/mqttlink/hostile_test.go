package mqttlink_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/downlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/station"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// rawPub is a minimal MQTT 3.1.1 publisher on a plain TCP connection: it
// streams payloads of any size from a small buffer (the test's own memory
// must not grow with them) and pipelines QoS 1 publishes.
type rawPub struct {
	t    *testing.T
	conn net.Conn
	w    *bufio.Writer
	id   uint16
	mu   sync.Mutex
	acks int
	got  chan struct{}
	done chan struct{} // closed when the connection ends
}

func dialRaw(t *testing.T, addr, clientID string) *rawPub {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	p := &rawPub{t: t, conn: conn, w: bufio.NewWriterSize(conn, 64<<10), got: make(chan struct{}, 1), done: make(chan struct{})}
	vh := []byte{0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60} // clean session, keepalive 60 s
	body := append(vh, byte(len(clientID)>>8), byte(len(clientID)))
	body = append(body, clientID...)
	p.w.Write(appendRemaining([]byte{0x10}, len(body)))
	p.w.Write(body)
	if err := p.w.Flush(); err != nil {
		t.Fatal(err)
	}
	var ack [4]byte
	if _, err := io.ReadFull(conn, ack[:]); err != nil || ack[0] != 0x20 || ack[3] != 0 {
		t.Fatalf("raw publisher: CONNACK %x, %v", ack, err)
	}
	go p.readAcks()
	return p
}

func appendRemaining(b []byte, n int) []byte {
	for {
		d := byte(n & 0x7f)
		n >>= 7
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}

func (p *rawPub) readAcks() {
	defer close(p.done)
	r := bufio.NewReader(p.conn)
	var pk [4]byte
	for {
		if _, err := io.ReadFull(r, pk[:]); err != nil {
			return
		}
		if pk[0] == 0x40 {
			p.mu.Lock()
			p.acks++
			p.mu.Unlock()
			select {
			case p.got <- struct{}{}:
			default:
			}
		}
	}
}

// publish sends one QoS 1 PUBLISH whose payload is prefix followed by
// fill bytes 'x', without waiting for the PUBACK.
func (p *rawPub) publish(topic string, prefix []byte, fill int) {
	p.t.Helper()
	p.id++
	if p.id == 0 {
		p.id = 1
	}
	rem := 2 + len(topic) + 2 + len(prefix) + fill
	p.w.Write(appendRemaining([]byte{0x32}, rem))
	p.w.Write(binary.BigEndian.AppendUint16(nil, uint16(len(topic))))
	p.w.WriteString(topic)
	p.w.Write(binary.BigEndian.AppendUint16(nil, p.id))
	p.w.Write(prefix)
	chunk := []byte(strings.Repeat("x", 32<<10))
	for fill > 0 {
		n := min(fill, len(chunk))
		if _, err := p.w.Write(chunk[:n]); err != nil {
			p.t.Fatal(err)
		}
		fill -= n
	}
	if err := p.w.Flush(); err != nil {
		p.t.Fatal(err)
	}
}

// waitAcks waits until the broker acknowledged n publishes.
func (p *rawPub) waitAcks(n int, timeout time.Duration) {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		p.mu.Lock()
		got := p.acks
		p.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-p.got:
		case <-deadline:
			p.t.Fatalf("raw publisher: %d of %d PUBACKs", got, n)
		}
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// procStatus returns a field of /proc/self/status in kB (0 when absent).
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb
		}
	}
	return 0
}

func ackPayload(id, ticketID string) []byte {
	return []byte(`{"id":"` + id + `","cmd":"ack","ticket_id":"` + ticketID + `","by":"织里镇值班员"}`)
}

func ackedOK(id string) func([]mqtttest.Message) bool {
	return func(msgs []mqtttest.Message) bool {
		for _, m := range msgs {
			if r, err := downlink.ParseReply(m.Payload); err == nil && r.ID == id && r.OK {
				return true
			}
		}
		return false
	}
}

// TestOversizedCommandsNotHeld: 40 commands of 10 MB are cut on the wire:
// the gateway's heap does not grow with them (paho used to read each one
// whole), each is refused as too large, and a real ack after them is
// executed.
func TestOversizedCommandsNotHeld(t *testing.T) {
	b := mqtttest.StartMosquitto(t)
	reply := mqtttest.Subscribe(t, b.URL(), topics.Reply())
	ob := outbox.NewMemory()
	rec, err := ob.Append(context.Background(), record(t, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	status := mqtttest.Subscribe(t, b.URL(), topics.Status())
	l, _ := start(t, mqttlink.Options{Broker: b.URL(), Outbox: ob})
	status.WaitUntil("online", 10*time.Second, hasState("online"))

	const n, size = 40, 10 << 20
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	rssBefore := procStatus("VmRSS")
	p := dialRaw(t, b.Addr(), "hostile-big")
	for i := range n {
		p.publish(topics.Cmd(), []byte(fmt.Sprintf(`{"id":"big-%d","cmd":"ping","pad":"`, i)), size)
	}
	p.waitAcks(n, 60*time.Second)
	waitFor(t, "40 oversized commands refused", 60*time.Second, func() bool { tooLarge, _ := l.CommandRefusals(); return tooLarge >= n })
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	rssAfter := procStatus("VmRSS")
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("40 × 10 MiB: allocated %.1f MiB in total, heap in use %.1f → %.1f MiB, VmRSS %d → %d kB, VmHWM %d kB",
		float64(allocated)/(1<<20), float64(before.HeapInuse)/(1<<20), float64(after.HeapInuse)/(1<<20), rssBefore, rssAfter, procStatus("VmHWM"))
	if allocated > 32<<20 {
		t.Errorf("the gateway allocated %d MiB while receiving 40 × 10 MiB commands; want < 32 MiB (payloads must not be held)", allocated>>20)
	}

	send := pub(t, b.URL())
	send(topics.Cmd(), false, ackPayload("real-ack", rec[0].TicketID))
	msgs := reply.WaitUntil("the real ack", 30*time.Second, ackedOK("real-ack"))
	tooLarge := 0
	for _, m := range msgs {
		if r, _ := downlink.ParseReply(m.Payload); !r.OK && strings.Contains(r.Error, fmt.Sprintf("payload too large: %d bytes > %d", size+len(`{"id":"big-0","cmd":"ping","pad":"`), downlink.MaxPayload)) {
			tooLarge++
		}
	}
	if tooLarge == 0 {
		t.Errorf("no reply says the payload is too large: %s", msgs[0].Payload)
	}
}

// TestDiagFloodDoesNotStarveAcks: 20 000 diag commands, then a real ack:
// the ack is executed (it used to be dropped, "too many waiting"), and the
// flood is refused by the diag budget.
func TestDiagFloodDoesNotStarveAcks(t *testing.T) {
	// mosquitto drops messages for a client past max_queued_messages
	// (default 1000): the flood must reach the gateway whole.
	b := mqtttest.StartMosquittoWith(t, mqtttest.Options{Extra: "max_queued_messages 0\nmax_inflight_messages 0\n"})
	reply := mqtttest.Subscribe(t, b.URL(), topics.Reply())
	ob := outbox.NewMemory()
	rec, err := ob.Append(context.Background(), record(t, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	status := mqtttest.Subscribe(t, b.URL(), topics.Status())
	l, _ := start(t, mqttlink.Options{Broker: b.URL(), Outbox: ob})
	status.WaitUntil("online", 10*time.Second, hasState("online"))

	const n = 20_000
	p := dialRaw(t, b.Addr(), "hostile-diag")
	for i := range n {
		p.publish(topics.Cmd(), []byte(fmt.Sprintf(`{"id":"d%d","cmd":"diag"}`, i)), 0)
	}
	p.publish(topics.Cmd(), ackPayload("real-ack", rec[0].TicketID), 0)
	p.waitAcks(n+1, 60*time.Second)
	reply.WaitUntil("the real ack", 60*time.Second, ackedOK("real-ack"))
	acks, err := ob.Acks(context.Background(), rec[0].TicketID)
	if err != nil || len(acks) != 1 {
		t.Errorf("acks recorded: %v, %v; want 1", acks, err)
	}
	waitFor(t, "the flood handled", 60*time.Second, func() bool { h, _ := l.Commands(); return h >= n+1 })
	_, limited := l.CommandRefusals()
	if limited < n-100 {
		t.Errorf("%d diag commands refused by the rate limit, want nearly all of %d", limited, n)
	}
	t.Logf("20 000 diag: %d refused by the rate limit", limited)
}

// TestRetainedCommandWhileConnected: a retained command published while
// the gateway is connected arrives without the retain flag (mosquitto sets
// it only for a new subscription); its ts gives it away when it is stale,
// and after a reconnect the retain flag does.
func TestRetainedCommandWhileConnected(t *testing.T) {
	b := mqtttest.StartMosquitto(t)
	reply := mqtttest.Subscribe(t, b.URL(), topics.Reply())
	status := mqtttest.Subscribe(t, b.URL(), topics.Status())
	start(t, mqttlink.Options{Broker: b.URL(), Outbox: outbox.NewMemory()})
	status.WaitUntil("online", 10*time.Second, hasState("online"))
	send := pub(t, b.URL())
	old := ticket.FormatTime(time.Now().Add(-6 * time.Minute))
	send(topics.Cmd(), true, []byte(`{"id":"stale","cmd":"ping","ts":"`+old+`"}`))
	msgs := reply.WaitUntil("reply", 10*time.Second, hasReplies("stale"))
	if r := replies(t, msgs)["stale"]; r.OK || !strings.Contains(r.Error, "older than the 5m0s allowed") {
		t.Errorf("stale retained ping: %+v, want refused as too old", r)
	}
}

// TestClientIDTakeover: a second client with the gateway's client id
// makes the broker close the gateway's connection again and again; the
// link reports the conflict.
func TestClientIDTakeover(t *testing.T) {
	b := mqtttest.StartMosquitto(t)
	status := mqtttest.Subscribe(t, b.URL(), topics.Status())
	l, _ := start(t, mqttlink.Options{Broker: b.URL(), Outbox: outbox.NewMemory(),
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		// A publish in flight when the connection is lost waits for its
		// PUBACK timeout: keep that short.
		AckTimeout: time.Second})
	status.WaitUntil("online", 10*time.Second, hasState("online"))
	if l.ClientIDConflict() {
		t.Fatal("conflict before any rival")
	}
	// The rival reconnects as soon as it is kicked off, as a cloned
	// gateway would.
	deadline := time.Now().Add(30 * time.Second)
	rivals := 0
	for !l.ClientIDConflict() {
		if time.Now().After(deadline) {
			t.Fatalf("no conflict after %d rival connections", rivals)
		}
		r := dialRaw(t, b.Addr(), gateway)
		rivals++
		// Wait until the link took the id back (the rival is closed).
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Fatal("the link did not take its client id back")
		}
	}
	if l.ClientIDConflicts() != 1 {
		t.Errorf("conflicts %d, want 1", l.ClientIDConflicts())
	}
	t.Logf("conflict raised after %d rival connections", rivals)
}

// TestSignedCommands: a gateway with a command key refuses an unsigned ack
// and a replayed one, and records the ack signed by the station.
func TestSignedCommands(t *testing.T) {
	key := []byte("c0ffee-c0ffee-c0ffee-c0ffee-c0ffee-c0ffee")
	b := mqtttest.StartMosquitto(t)
	reply := mqtttest.Subscribe(t, b.URL(), topics.Reply())
	ob := outbox.NewMemory()
	rec, err := ob.Append(context.Background(), record(t, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	status := mqtttest.Subscribe(t, b.URL(), topics.Status())
	start(t, mqttlink.Options{Broker: b.URL(), Outbox: ob, CmdKey: key})
	status.WaitUntil("online", 10*time.Second, hasState("online"))

	send := pub(t, b.URL())
	now := ticket.FormatTime(time.Now())
	send(topics.Cmd(), false, []byte(`{"id":"unsigned","cmd":"ack","ticket_id":"`+rec[0].TicketID+`","by":"forger","ts":"`+now+`"}`))
	signedAck, err := downlink.Sign(key, topics.Cmd(), []byte(`{"id":"s1","cmd":"ack","ticket_id":"`+rec[0].TicketID+`","by":"值班员","ts":"`+now+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	send(topics.Cmd(), false, signedAck)
	reply.WaitUntil("s1", 10*time.Second, ackedOK("s1"))
	send(topics.Cmd(), false, signedAck) // replayed
	send(topics.Cmd(), false, []byte(`{"id":"ctl","cmd":"control","ts":"`+now+`"}`))
	msgs := reply.WaitUntil("refusals", 10*time.Second, func(msgs []mqtttest.Message) bool {
		n := 0
		for _, m := range msgs {
			if r, _ := downlink.ParseReply(m.Payload); !r.OK {
				n++
			}
		}
		return n >= 3
	})
	var refusals []string
	for _, m := range msgs {
		if r, _ := downlink.ParseReply(m.Payload); !r.OK {
			refusals = append(refusals, r.ID+": "+r.Error)
		}
	}
	want := []string{`unsigned: downlink: field "sig": is required`, `s1: downlink: field "id": "s1" was already used`, `ctl: downlink: field "sig": is required`}
	for i, w := range want {
		if i >= len(refusals) || !strings.HasPrefix(refusals[i], w) {
			t.Errorf("refusals %q, want %q", refusals, want)
			break
		}
	}
	r, err := station.AckWaitSigned(context.Background(), b.URL(), topics.Prefix, township, gateway, rec[0].TicketID, "站长", key)
	if err != nil || !r.OK {
		t.Errorf("station ack signed: %+v, %v", r, err)
	}
	acks, err := ob.Acks(context.Background(), rec[0].TicketID)
	if err != nil || len(acks) != 2 || acks[0].By != "值班员" || acks[1].By != "站长" {
		t.Errorf("acks recorded: %+v, %v; want the two signed ones", acks, err)
	}
	// A signed config command on a link without Options.Config (uplink.
	// allow_remote_config: false) is refused with the reason.
	cfg, err := downlink.Sign(key, topics.Cmd(), []byte(`{"id":"cfg","cmd":"config","config":"gateway: {}\n","ts":"`+ticket.FormatTime(time.Now())+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	send(topics.Cmd(), false, cfg)
	reply.WaitUntil("the config refusal", 10*time.Second, func(msgs []mqtttest.Message) bool {
		for _, m := range msgs {
			if r, _ := downlink.ParseReply(m.Payload); r.ID == "cfg" {
				if r.OK || !strings.Contains(r.Error, "uplink.allow_remote_config: false") {
					t.Errorf("config on a link without it: %+v", r)
				}
				return true
			}
		}
		return false
	})
}
