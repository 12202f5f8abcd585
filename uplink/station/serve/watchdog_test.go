package serve_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/station/serve"
	"github.com/fenghuo-iot/fenghuo/uplink/station/store"
)

// TestVerdict: the watchdog on an injected clock.
func TestVerdict(t *testing.T) {
	start := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	w := serve.Watchdog{Heartbeat: 90 * time.Second, GapAlarm: 5 * time.Minute, Since: start}
	gap := store.Gap{ID: 7, Gateway: "gw-b", From: 10, To: 12, Left: 3, OpenedAt: start.Add(time.Minute)}
	gws := []store.Gateway{
		{ID: "gw-a", State: "online", LastStatus: start.Add(-time.Hour), Events: 1}, // old, but the station just started
		{ID: "gw-b", State: "online", LastStatus: start.Add(80 * time.Second), OpenGaps: []store.Gap{gap}},
		{ID: "gw-c", State: "offline", LastStatus: start.Add(10 * time.Second)},
		{ID: "gw-d"}, // only a rejected message named it
	}
	for _, c := range []struct {
		at   time.Duration
		lost string
		gaps int
	}{
		{30 * time.Second, "gw-c", 0},
		{91 * time.Second, "gw-a gw-c", 0},
		{170 * time.Second, "gw-a gw-c", 0},
		{171 * time.Second, "gw-a gw-b gw-c", 0},
		{6*time.Minute + time.Second, "gw-a gw-b gw-c", 1},
	} {
		v := w.Verdict(start.Add(c.at), gws)
		var lost []string
		for _, id := range []string{"gw-a", "gw-b", "gw-c", "gw-d"} {
			if v.Lost[id] != "" {
				lost = append(lost, id)
			}
		}
		if strings.Join(lost, " ") != c.lost || len(v.Gaps) != c.gaps {
			t.Fatalf("at +%s: lost %v, %d gaps; want %s, %d", c.at, lost, len(v.Gaps), c.lost, c.gaps)
		}
	}
	if r := w.Verdict(start.Add(2*time.Minute), gws).Lost["gw-a"]; !strings.Contains(r, "no status heartbeat") {
		t.Fatalf("reason %q", r)
	}
}

// TestWatchdogLive: through the real service: the last will raises 网关失联
// and the next online status clears it; a gap open past --gap-alarm raises
// 数据缺失 naming the range and closes when filled. Both stay on record.
func TestWatchdogLive(t *testing.T) {
	b, c, _ := station(t, serve.Options{GapAlarm: time.Millisecond, WatchEvery: 20 * time.Millisecond, Log: os.Stderr})
	p := newPublisher(t, b.URL())
	p.pub(topics.Status(), true, status(gwID, "online", 0))
	p.pub(topics.Tickets(), false, payload(t, event(gwID, 1, rules.Open, "20261205T080000.000", 4)))
	p.pub(topics.Tickets(), false, payload(t, event(gwID, 4, rules.Open, "20261205T080100.000", 4)))
	p.pub(topics.Status(), true, status(gwID, "offline", 0))
	find := func(label string) *store.Order {
		var os struct{ Orders []store.Order }
		c.do("GET", "/api/orders", nil, &os)
		for _, o := range os.Orders {
			if o.LabelZh == label {
				return &o
			}
		}
		return nil
	}
	poll(t, "网关失联 and 数据缺失 orders", func() bool { return find("网关失联") != nil && find("数据缺失") != nil })
	if o := find("数据缺失"); !strings.Contains(o.Detail, "seq 2..3 missing") || o.Gateway != gwID {
		t.Fatalf("数据缺失 order %+v", o)
	}
	if o := find("网关失联"); !strings.Contains(o.Detail, "offline") || o.Level != 2 {
		t.Fatalf("网关失联 order %+v", o)
	}
	p.pub(topics.Status(), true, status(gwID, "online", 0))
	p.pub(topics.Tickets(), false, payload(t, event(gwID, 2, rules.Open, "20261205T080200.000", 4)))
	p.pub(topics.Tickets(), false, payload(t, event(gwID, 3, rules.Open, "20261205T080300.000", 4)))
	poll(t, "both cleared", func() bool { return find("网关失联") == nil && find("数据缺失") == nil })
	for id := 1; ; id++ {
		var one struct{ Order store.Order }
		if c.do("GET", "/api/orders/"+strconv.Itoa(id), nil, &one) != 200 {
			if id < 5 {
				t.Fatalf("order %d missing: 2 ticket orders and 2 station orders stay on record", id)
			}
			break
		}
		if one.Order.Origin != store.OriginGateway && (!one.Order.Cleared || one.Order.ClosedAt == nil) {
			t.Fatalf("station order %d not cleared and closed: %+v", id, one.Order)
		}
	}
}

func TestCheckListen(t *testing.T) {
	for _, c := range []struct {
		addr          string
		tls, insecure bool
		ok            bool
	}{
		{"127.0.0.1:8080", false, false, true},
		{"[::1]:8080", false, false, true},
		{"localhost:8080", false, false, true},
		{"0.0.0.0:8080", false, false, false},
		{":8080", false, false, false},
		{"192.168.1.5:8080", true, false, true},
		{"192.168.1.5:8080", false, true, true},
		{"nonsense", false, false, false},
	} {
		if err := serve.CheckListen(c.addr, c.tls, c.insecure); (err == nil) != c.ok {
			t.Errorf("CheckListen(%q, tls %v, insecure %v) = %v, want ok %v", c.addr, c.tls, c.insecure, err, c.ok)
		}
	}
}

// TestSchemaCopy: the embedded schema is docs/ticket.schema.json.
func TestSchemaCopy(t *testing.T) {
	docs, err := os.ReadFile("../../../docs/ticket.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	mine, err := os.ReadFile("ticket.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(docs) != string(mine) {
		t.Fatal("uplink/station/serve/ticket.schema.json differs from docs/ticket.schema.json: cp docs/ticket.schema.json uplink/station/serve/")
	}
}

func TestOptionsRefused(t *testing.T) {
	for _, c := range []struct {
		o    serve.Options
		want string
	}{
		{serve.Options{DB: "x.db"}, "--broker URL is required"},
		{serve.Options{Broker: "tcp://127.0.0.1:1"}, "--db FILE is required"},
		{serve.Options{Broker: "tcp://127.0.0.1:1", DB: "postgres://u@h/db"}, "not built yet"},
		{serve.Options{Broker: "tcp://127.0.0.1:1", DB: "x.db", Township: "33#"}, "9-digit township code"},
		{serve.Options{Broker: "tcp://127.0.0.1:1", DB: "x.db", Share: "a/b"}, "--share"},
		{serve.Options{Broker: "tcp://127.0.0.1:1", DB: "x.db", Listen: "0.0.0.0:8080"}, "not a loopback address"},
		{serve.Options{Broker: "tcp://127.0.0.1:1", DB: "x.db", TLSCert: "c.pem"}, "--tls-cert and --tls-key go together"},
	} {
		err := serve.Run(t.Context(), c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
}
