package station_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/station"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

const gw = "gw-330502103-yuncun-01"

var topics = ticket.Topics{Prefix: "fenghuo/v1", Township: "330502103", Gateway: gw}

// syncBuf is a goroutine-safe strings.Builder.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func smoke(seq uint64, eventID string) []byte {
	v := 1.0
	t := ticket.Ticket{Schema: ticket.Schema, EventID: eventID, TicketID: gw + "/smoke-1f-kitchen/R1/20261129T001502.000", Seq: seq,
		State: "open", Hazard: "smoke_fire_alarm", Label: ticket.Label{Zh: "烟感火警", En: "Smoke fire alarm"},
		Category: "smoke", Kind: "alarm", Level: 1, LevelZh: "一级", GradeZh: "疑似重大隐患", NoticeTypeZh: "火灾报警信息",
		GBT45839Status: 2, Rule: "R1", OccurrenceCount: 1,
		OccurredAt: "2026-11-29T08:15:02.314+08:00", PublishedAt: "2026-11-29T08:15:02.402+08:00",
		Gateway: ticket.Gateway{ID: gw, Site: ticket.Site{Name: "云村文化礼堂", TownshipCode: "330502103"}},
		Device:  ticket.Device{ID: "smoke-1f-kitchen", Name: "一楼厨房烟感", Location: "一楼厨房", NetType: "00"}}
	t.Evidence = &ticket.Evidence{Point: "alarm", Value: &v}
	p, err := t.Marshal()
	if err != nil {
		panic(err)
	}
	return p
}

func TestLineFormat(t *testing.T) {
	tk, err := ticket.Parse(smoke(12, "ev-1"))
	if err != nil {
		t.Fatal(err)
	}
	want := "08:15:02 [一级] 烟感火警 Smoke fire alarm · open · 云村文化礼堂 · 一楼厨房烟感 (一楼厨房) · alarm=1 · seq 12"
	if got := station.TicketLine(tk); got != want {
		t.Fatalf("line:\n got %s\nwant %s", got, want)
	}
}

// TestEvidenceReadable: values are compact, a status word is hex, the
// threshold is named, and the GB/T 45839 status code does not appear as a
// second "status=N" next to a device point called status.
func TestEvidenceReadable(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, c := range []struct {
		ev   ticket.Evidence
		want string
	}{
		{ticket.Evidence{Point: "status", Value: f(2)}, " · status=0x0002 · seq 12"},
		{ticket.Evidence{Point: "alarm_status", Value: f(0x0110)}, " · alarm_status=0x0110 · seq 12"},
		{ticket.Evidence{Point: "residual_current", Value: f(316.7010803222656), Unit: "mA", Threshold: f(300)},
			" · residual_current=316.7 mA (threshold 300 mA) · seq 12"},
		{ticket.Evidence{Point: "temp", Value: f(58.04999923706055), Unit: "°C"}, " · temp=58.05 °C · seq 12"},
		{ticket.Evidence{Point: "power", Value: f(1234.56), Unit: "W"}, " · power=1235 W · seq 12"},
		{ticket.Evidence{Point: "current", Value: f(0.0123456), Unit: "A"}, " · current=0.01235 A · seq 12"},
		{ticket.Evidence{Point: "voltage", Value: f(-0.00001), Unit: "V"}, " · voltage=-0.00001 V · seq 12"},
		{ticket.Evidence{Point: "smoke", Value: f(0)}, " · smoke=0 · seq 12"},
		{ticket.Evidence{Point: "status", Value: f(1.5)}, " · status=1.5 · seq 12"}, // not a word: printed as is
	} {
		var tk ticket.Ticket
		if err := json.Unmarshal(smoke(12, "ev-1"), &tk); err != nil {
			t.Fatal(err)
		}
		tk.Evidence = &c.ev
		line := station.TicketLine(tk)
		if !strings.HasSuffix(line, c.want) || strings.Count(line, "status=") > 1 {
			t.Errorf("line %q\nwant it to end with %q", line, c.want)
		}
	}
}

func TestStatusLineShowsReceiveTime(t *testing.T) {
	rx := time.Date(2026, 11, 29, 1, 30, 5, 0, time.UTC) // a station on a UTC host: 09:30:05 at +08:00
	will := ticket.Status{Schema: ticket.StatusSchema, Gateway: gw, State: "offline", At: "2026-11-20T07:00:00.000+08:00"}
	for _, c := range []struct {
		s        ticket.Status
		retained bool
		want     string
	}{
		{will, false, "09:30:05 gateway " + gw + " OFFLINE (connection lost: last will; or the gateway stopped)"},
		{will, true, "09:30:05 gateway " + gw + " OFFLINE (retained: already offline when this station subscribed)"},
		{ticket.Status{Gateway: gw, State: "online", Version: "1.0.0", At: "2026-11-29T09:30:04.900+08:00", DevicesOnline: 3, DevicesTotal: 4, BufferDepth: 2, OldestUnsentAgeS: 1.4},
			false, "09:30:05 gateway " + gw + " online · 1.0.0 · devices 3/4 · buffer 2 (oldest 1 s)"},
		{ticket.Status{Gateway: gw, State: "online", Version: "1.0.0", At: "2026-11-29T09:29:40.000+08:00"},
			true, "09:30:05 gateway " + gw + " online · 1.0.0 · devices 0/0 · buffer 0 (oldest 0 s) · retained, sent 09:29:40"},
	} {
		got := station.StatusLine(c.s, rx, c.retained)
		if got != c.want {
			t.Errorf("status line\n got %s\nwant %s", got, c.want)
		}
		if strings.Contains(got, "07:00") {
			t.Errorf("the will's connection time is shown as if it were the outage: %s", got)
		}
	}
}

// TestDedupAndGaps drives Handle directly: a duplicate is counted once, a
// gap is reported when it opens and again when it fills.
func TestDedupAndGaps(t *testing.T) {
	var out syncBuf
	w := station.NewWatcher(station.Options{Out: &out})
	for _, m := range []struct {
		seq uint64
		id  string
	}{{1, "a"}, {2, "b"}, {2, "b"}, {5, "e"}, {4, "d"}, {3, "c"}, {6, "f"}} {
		w.Handle(topics.Tickets(), smoke(m.seq, m.id))
	}
	c := w.Counters()
	if c.Received != 6 || c.Duplicates != 1 || c.Gaps != 1 || c.GapsFilled != 1 || c.OpenGaps != 0 {
		t.Fatalf("counters %+v", c)
	}
	text := out.String()
	if strings.Count(text, "seq 2") != 1 || !strings.Contains(text, "gap: "+gw+" seq 3..4 missing") ||
		!strings.Contains(text, "gap filled: "+gw+" seq 3..4") {
		t.Fatalf("output:\n%s", text)
	}
	if strings.Index(text, "gap filled") < strings.Index(text, "seq 3 ") {
		t.Fatalf("gap reported filled before seq 3 arrived:\n%s", text)
	}
}

// TestWatchOverMosquitto: a re-published event is deduplicated and a gap
// that opens is reported filled when the missing seq arrives.
func TestWatchOverMosquitto(t *testing.T) {
	b := mqtttest.StartMosquitto(t)
	var out syncBuf
	var mu sync.Mutex
	var got []uint64
	w := station.NewWatcher(station.Options{Broker: b.URL(), Township: "330502103", Out: &out,
		OnTicket: func(tk ticket.Ticket) { mu.Lock(); got = append(got, tk.Seq); mu.Unlock() }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-w.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("watcher not subscribed")
	}
	pub := publisher(t, b.URL())
	for _, m := range []struct {
		seq uint64
		id  string
	}{{1, "e1"}, {1, "e1"}, {3, "e3"}, {2, "e2"}} {
		pub(topics.Tickets(), smoke(m.seq, m.id))
	}
	pub(topics.Status(), []byte(`{"schema":"fenghuo.status.v1","gateway_id":"`+gw+`","state":"offline","at":"2026-11-29T08:20:00.000+08:00"}`))
	deadline := time.Now().Add(10 * time.Second)
	for w.Counters().Statuses < 1 || w.Counters().Received+w.Counters().Duplicates < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("counters %+v\n%s", w.Counters(), out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	c := w.Counters()
	mu.Lock()
	defer mu.Unlock()
	if c.Duplicates != 1 || c.Gaps != 1 || c.GapsFilled != 1 || fmt.Sprint(got) != "[1 3 2]" {
		t.Fatalf("counters %+v, OnTicket seqs %v\n%s", c, got, out.String())
	}
	if !strings.Contains(out.String(), "gateway "+gw+" OFFLINE") {
		t.Fatalf("no offline line:\n%s", out.String())
	}
}

func TestAck(t *testing.T) {
	b := mqtttest.StartMosquitto(t)
	cmds := mqtttest.Subscribe(t, b.URL(), topics.Cmd())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := station.Ack(ctx, b.URL(), "fenghuo/v1", "330502103", gw, "T-1", "织里镇值班员"); err != nil {
		t.Fatal(err)
	}
	var cmd map[string]string
	if err := json.Unmarshal(cmds.WaitFor(1, 5*time.Second)[0].Payload, &cmd); err != nil {
		t.Fatal(err)
	}
	if cmd["cmd"] != "ack" || cmd["ticket_id"] != "T-1" || cmd["by"] != "织里镇值班员" || len(cmd["id"]) != 16 {
		t.Fatalf("ack payload %v", cmd)
	}
	if err := station.Ack(ctx, b.URL(), "fenghuo/v1", "+", gw, "T-1", "x"); err == nil {
		t.Fatal("Ack accepted a wildcard township")
	}
}

// publisher returns a QoS 1 publish func that waits for each PUBACK, so the
// messages reach the broker in order.
func publisher(t *testing.T, url string) func(topic string, payload []byte) {
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("station-test-pub"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return func(topic string, payload []byte) {
		if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
}

// TestGarbageIsCountedNotFatal: payloads that are not tickets or statuses
// are counted as Invalid and reported; the watcher keeps handling the feed.
// A retained offline status published before the watcher subscribed is
// shown as retained, not as a fresh outage.
func TestGarbageIsCountedNotFatal(t *testing.T) {
	b := mqtttest.StartMosquitto(t)
	old := ticket.Topics{Prefix: "fenghuo/v1", Township: "330502103", Gateway: "gw-330502103-old-02"}
	pub := publisher(t, b.URL())
	if tok := pubClient(t, b.URL()).Publish(old.Status(), 1, true,
		[]byte(`{"schema":"fenghuo.status.v1","gateway_id":"gw-330502103-old-02","state":"offline","at":"2026-11-20T07:00:00.000+08:00"}`)); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("retained publish: %v", tok.Error())
	}
	var out syncBuf
	w := station.NewWatcher(station.Options{Broker: b.URL(), Township: "330502103", Out: &out})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-w.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("watcher not subscribed")
	}
	for _, p := range [][]byte{[]byte("not json"), {0xff, 0xfe, 0x00}, []byte(`{}`), []byte(`{"event_id":"x","seq":"one"}`)} {
		pub(topics.Tickets(), p)
	}
	pub(topics.Status(), []byte(`{"gateway_id":"`+gw+`","state":"sideways"}`))
	pub(topics.Tickets(), smoke(1, "ok-1"))
	deadline := time.Now().Add(10 * time.Second)
	for c := w.Counters(); c.Received < 1 || c.Statuses < 1; c = w.Counters() {
		if time.Now().After(deadline) {
			t.Fatalf("counters %+v\n%s", c, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	c, text := w.Counters(), out.String()
	if c.Invalid != 5 || c.Received != 1 || c.Statuses != 1 {
		t.Fatalf("counters %+v, want 5 invalid, 1 ticket, 1 status\n%s", c, text)
	}
	if strings.Count(text, "invalid ticket from "+gw) != 4 || !strings.Contains(text, "invalid status from "+gw) ||
		!strings.Contains(text, "gateway gw-330502103-old-02 OFFLINE (retained") || !strings.Contains(text, "· seq 1") {
		t.Fatalf("output:\n%s", text)
	}
}

func pubClient(t *testing.T, url string) paho.Client {
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("station-test-retain"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func TestTestTicketLineSaysTest(t *testing.T) {
	tk := ticket.Ticket{State: ticket.StateTest, LevelZh: "一级", Label: ticket.Label{Zh: "烟感火警", En: "Smoke fire alarm"},
		OccurredAt: "2026-11-29T08:15:02.314+08:00", Seq: 3}
	if line := station.TicketLine(tk); !strings.Contains(line, " · 测试 test · ") {
		t.Fatalf("test ticket line %q does not say 测试", line)
	}
}
