package serve_test

import (
	"context"
	"encoding/csv"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/station/serve"
	"github.com/fenghuo-iot/fenghuo/uplink/station/store"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

const (
	user     = "值班员"
	password = "correct horse battery"
)

// station starts mosquitto and a station service with one account.
func station(t *testing.T, o serve.Options) (*mqtttest.Broker, *client, string) {
	t.Helper()
	b := mqtttest.StartMosquitto(t)
	o.Broker = b.URL()
	if o.DB == "" {
		o.DB = filepath.Join(t.TempDir(), "station.db")
	}
	if err := serve.AddUser(context.Background(), o.DB, user, password); err != nil {
		t.Fatal(err)
	}
	base := service(t, o)
	return b, signIn(t, base, user, password), o.DB
}

func counts(c *client) store.Counts {
	var n store.Counts
	if code := c.do("GET", "/api/counts", nil, &n); code != 200 {
		c.t.Fatalf("counts: HTTP %d", code)
	}
	return n
}

// TestIngest: real publishes through mosquitto: a duplicate is stored
// once, a gap opens and closes (a tombstone fills its seq), invalid
// messages are kept as rejected, and the orders come sorted by level.
func TestIngest(t *testing.T) {
	b, c, _ := station(t, serve.Options{Township: township})
	p := newPublisher(t, b.URL())
	p.pub(topics.Status(), true, status(gwID, "online", 3))
	first := payload(t, event(gwID, 1, rules.Open, "20261205T080000.000", 3))
	p.pub(topics.Tickets(), false, first)
	p.pub(topics.Tickets(), false, first)
	p.pub(topics.Tickets(), false, payload(t, event(gwID, 4, rules.Open, "20261205T080100.000", 1)))
	p.pub(topics.Tickets(), false, []byte(`{"schema":"fenghuo.ticket.v1",`))
	bad := event(gwID, 9, rules.Open, "20261205T080200.000", 1)
	bad.Level = 9
	p.pub(topics.Tickets(), false, payload(t, bad))
	poll(t, "4 messages stored or refused", func() bool { n := counts(c); return n.Events == 2 && n.Duplicates == 1 && n.Rejected == 2 })
	var rej struct{ Rejected []store.RejectedMessage }
	c.do("GET", "/api/rejected", nil, &rej)
	if r := rej.Rejected; len(r) != 2 || !strings.Contains(r[0].Reason, "does not match docs/ticket.schema.json") || !strings.Contains(r[1].Reason, "not JSON") {
		t.Fatalf("rejected %+v: want the schema violation and the broken JSON, with reasons", r)
	}
	var gws struct{ Gateways []store.Gateway }
	c.do("GET", "/api/gateways", nil, &gws)
	if g := gws.Gateways; len(g) != 1 || g[0].State != "online" || g[0].BufferDepth != 3 || len(g[0].OpenGaps) != 1 || g[0].OpenGaps[0].From != 2 || g[0].OpenGaps[0].To != 3 {
		t.Fatalf("gateways %+v: want online, buffer 3, gap 2..3", g)
	}
	p.pub(topics.Tickets(), false, payload(t, event(gwID, 2, rules.Clear, "20261205T080000.000", 3)))
	p.pub(topics.Tickets(), false, payload(t, ticket.Tombstone(event(gwID, 3, rules.Open, "20261205T080300.000", 4))))
	poll(t, "the gap filled", func() bool { n := counts(c); return n.Events == 4 && n.OpenGaps == 0 && n.Tombstones == 1 })
	var os struct{ Orders []store.Order }
	c.do("GET", "/api/orders", nil, &os)
	// T1 (level 3) closed on its clear; the tombstone's T3 (level 4) and T2 (level 1) are open, level 1 first.
	if len(os.Orders) != 2 || os.Orders[0].Level != 1 || os.Orders[1].Level != 4 || os.Orders[1].MissingEvents != 1 {
		t.Fatalf("orders %+v", os.Orders)
	}
}

// TestCSVExport: UTF-8 BOM, and a cell from the network that starts with
// = + - @ is quoted, never a formula.
func TestCSVExport(t *testing.T) {
	b, c, _ := station(t, serve.Options{})
	p := newPublisher(t, b.URL())
	tk := event(gwID, 1, rules.Open, "20261205T080000.000", 2)
	tk.Label.Zh = `=HYPERLINK("http://evil.example","点我")`
	tk.Device.ID = "@SUM(1+1)"
	p.pub(topics.Tickets(), false, payload(t, tk))
	poll(t, "the event stored", func() bool { return counts(c).Events == 1 })
	var body []byte
	if code := c.do("GET", "/api/events.csv?level=2&gateway="+gwID, nil, &body); code != 200 {
		t.Fatalf("csv: HTTP %d", code)
	}
	if !strings.HasPrefix(string(body), "\ufeff") {
		t.Fatalf("no UTF-8 BOM: %q", body[:min(20, len(body))])
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(body), "\ufeff"))).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("csv: %d rows, %v\n%s", len(rows), err, body)
	}
	for _, cell := range rows[1] {
		if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
			t.Fatalf("cell %q starts a formula", cell)
		}
	}
	if rows[1][9] != `'=HYPERLINK("http://evil.example","点我")` || rows[1][10] != "'@SUM(1+1)" {
		t.Fatalf("row %q", rows[1])
	}
	if code := c.do("GET", "/api/events.csv?level=7", nil, nil); code != 400 {
		t.Fatalf("a bad filter: HTTP %d, want 400", code)
	}
}
