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

	"github.com/fenghuo-iot/fenghuo/rules"
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
	t := ticket.Ticket{Schema: ticket.Schema, EventID: eventID, TicketID: gw + "/smoke-1f-kitchen/R1/20261129T001502", Seq: seq,
		State: "open", Hazard: "smoke_fire_alarm", Label: ticket.Label{Zh: "烟感火警", En: "Smoke fire alarm"},
		Category: "smoke", Kind: "alarm", Level: 1, LevelZh: "一级", GradeZh: "重大隐患", NoticeTypeZh: "火灾报警信息",
		GBT45839Status: 2, Rule: "R1", OccurrenceCount: 1,
		OccurredAt: "2026-11-29T08:15:02.314+08:00", PublishedAt: "2026-11-29T08:15:02.402+08:00",
		Gateway: ticket.Gateway{ID: gw, Site: ticket.Site{Name: "云村文化礼堂", TownshipCode: "330502103"}},
		Device:  ticket.Device{ID: "smoke-1f-kitchen", Name: "一楼厨房烟感", Location: "一楼厨房", NetType: "00"}}
	t.Evidence = &rules.Evidence{Point: "alarm", Value: &v}
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
	want := "08:15:02 [一级] 烟感火警 Smoke fire alarm · open · 云村文化礼堂 · 一楼厨房烟感 (一楼厨房) · alarm=1 · status=2 · seq 12"
	if got := station.TicketLine(tk); got != want {
		t.Fatalf("line:\n got %s\nwant %s", got, want)
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
