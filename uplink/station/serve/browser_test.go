package serve_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/downlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/station/serve"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// update (or FENGHUO_SCREENSHOTS=1) writes the console's screenshots to
// docs/img/station-*.png.
var update = flag.Bool("update", false, "write the console screenshots to docs/img")

const chromium = "/usr/bin/chromium"

// browser starts a headless Chromium with a fresh profile; it is closed in
// t.Cleanup. The flags are the ones these machines need.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI: the browser test needs %s (.ci/run installs chromium): %v", chromium, err)
		}
		t.Skipf("the browser test needs Debian's chromium at %s (apt-get install chromium): %v", chromium, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 860),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true), chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("lang", "zh-CN"),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // the first run starts the browser, without a deadline
		t.Fatalf("start %s: %v", chromium, err)
	}
	return ctx
}

// run runs browser actions with a deadline and fails the test on error.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(actx, actions...); err != nil {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash + ' | ' + document.getElementById('main').textContent`))
		t.Fatalf("browser: %s: %v\npage: %s", what, err, text)
	}
}

// shot saves a screenshot of the page as docs/img/station-NAME.png when
// asked to (-update or FENGHUO_SCREENSHOTS=1).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if !*update && os.Getenv("FENGHUO_SCREENSHOTS") == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join("..", "..", "..", "docs", "img", "station-"+name+".png")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitJS polls a JavaScript condition in the page; an exception (an
// element not there yet while the page renders) counts as false.
func waitJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void]("(() => { try { return !!("+expr+"); } catch (e) { return false; } })()",
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(45*time.Second))
}

// gatewayRun starts the gateway's real uplink (mqttlink draining an
// outbox) with the given tickets already committed.
func gatewayRun(t *testing.T, broker string, tickets ...[]byte) (*outbox.Memory, func()) {
	t.Helper()
	ob := outbox.NewMemory()
	for _, p := range tickets {
		tk, err := ticket.Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		rec := outbox.Record{EventID: tk.EventID, TicketID: tk.TicketID, State: tk.State, Hazard: tk.Hazard, Rule: tk.Rule,
			Device: tk.Device.ID, Level: tk.Level, Priority: outbox.PriorityTicket, Payload: p}
		if _, err := ob.Append(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	l, err := mqttlink.New(mqttlink.Options{Broker: broker, TopicPrefix: topics.Prefix, TownshipCode: township, GatewayID: gwID,
		Outbox: ob, MinBackoff: 100 * time.Millisecond, MaxBackoff: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	return ob, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway uplink: %v", err)
		}
	}
}

// TestBrowserConsole drives the console in a real headless Chromium: sign
// in; a ticket from a real gateway uplink appears in the open orders
// without a reload; acknowledging it sends the ack downlink, which the
// gateway records; the order goes through 处置中 → 已处置 → 已复核; the
// gateways and history pages show it; the CSV export link gives a file
// with a BOM and the rows.
func TestBrowserConsole(t *testing.T) {
	ctx := browser(t)
	b, c, _ := station(t, serve.Options{Township: township})
	replies := mqtttest.Subscribe(t, b.URL(), topics.Reply())

	run(t, ctx, "open the console", chromedp.Navigate(c.base+"/"), chromedp.WaitVisible(chromedp.CSS("#login-form")))
	shot(t, ctx, "login")
	run(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.CSS("#user"), user), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#login-submit")), chromedp.WaitVisible(chromedp.CSS("#no-orders")),
		waitJS(`document.getElementById('live').className === 'live on'`))

	fire := event(gwID, 0, rules.Open, "20261205T080000.000", 1)
	fire.Device.Location = `一楼厨房 <img src=x onerror=alert(1)>`
	gas := event(gwID, 0, rules.Open, "20261205T080100.000", 3)
	gas.TicketID, gas.EventID = gwID+"/gas-1/R2/20261205T080100.000", gas.EventID+"-gas"
	gas.Hazard, gas.Label.Zh, gas.Label.En, gas.Device.Location = "gas_leak", "燃气泄漏", "Gas leak", "二楼茶水间"
	ob, stopGateway := gatewayRun(t, b.URL(), payload(t, fire), payload(t, gas))
	defer stopGateway()

	row := `tr[data-ticket="` + fire.TicketID + `"]`
	run(t, ctx, "the gateway's tickets arrive live",
		chromedp.WaitVisible(chromedp.CSS(row)), chromedp.WaitVisible(chromedp.CSS(`tr[data-ticket="`+gas.TicketID+`"]`)),
		waitJS(`document.querySelectorAll('#feed li').length >= 2`),
		waitJS(`document.querySelector('#orders-table tbody tr').dataset.ticket === `+jsString(fire.TicketID)),
		waitJS(`document.body.textContent.includes('<img src=x onerror=alert(1)>') && document.querySelectorAll('main img').length === 0`))
	shot(t, ctx, "orders")

	run(t, ctx, "open the order", chromedp.Click(chromedp.CSS(row+" a")), chromedp.WaitVisible(chromedp.CSS("#btn-acknowledge")))
	shot(t, ctx, "order")
	run(t, ctx, "acknowledge", chromedp.SendKeys(chromedp.CSS("#note"), "已派人前往"), chromedp.Click(chromedp.CSS("#btn-acknowledge")),
		waitJS(`document.getElementById('action-msg') && document.getElementById('action-msg').textContent.includes('ack downlink: sent')`))
	r, err := downlink.ParseReply(replies.WaitFor(1, 30*time.Second)[0].Payload)
	if err != nil || !r.OK {
		t.Fatalf("the gateway's reply to the ack: %+v %v", r, err)
	}
	acks, err := ob.Acks(context.Background(), fire.TicketID)
	if err != nil || len(acks) != 1 || acks[0].By != user {
		t.Fatalf("the gateway's recorded acks of %s: %+v %v; want one by %s", fire.TicketID, acks, err, user)
	}

	run(t, ctx, "resolve and review",
		chromedp.SendKeys(chromedp.CSS("#note"), "烟感误触发已复位，现场无火情"), chromedp.Click(chromedp.CSS("#btn-resolve")),
		chromedp.WaitVisible(chromedp.CSS("#btn-review")), chromedp.Click(chromedp.CSS("#btn-review")),
		waitJS(`document.getElementById('order-status').textContent === '已复核' && document.querySelectorAll('#steps tbody tr').length === 4`))
	shot(t, ctx, "order-closed")

	run(t, ctx, "gateways", chromedp.Navigate(c.base+"/#/gateways"),
		waitJS(`!!document.getElementById('gateways-table') && document.getElementById('gateways-table').textContent.includes('在线')`))
	shot(t, ctx, "gateways")

	checkHistoryCSV(t, ctx, c.base, fire.TicketID, gas.TicketID)
}

// checkHistoryCSV filters the history by level 1 and downloads the CSV
// export through the page's own link (with the browser's session).
func checkHistoryCSV(t *testing.T, ctx context.Context, base, want, notWant string) {
	t.Helper()
	run(t, ctx, "history", chromedp.Navigate(base+"/#/history"), chromedp.WaitVisible(chromedp.CSS("#history-table")))
	run(t, ctx, "filter level 1", chromedp.SetValue(chromedp.CSS("#f-level"), "1"), chromedp.Click(chromedp.CSS("#history-form button[type=submit]")),
		waitJS(`document.getElementById('csv').getAttribute('href').includes('level=1') && document.querySelectorAll('#history-table tbody tr').length === 1`))
	shot(t, ctx, "history")
	fetchCSV := `fetch(document.getElementById('csv').href).then(r => r.arrayBuffer()).then(b => Array.from(new Uint8Array(b)))`
	bytesOut, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](fetchCSV, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("download the CSV: %v", err)
	}
	body := make([]byte, len(bytesOut))
	for i, v := range bytesOut {
		body[i] = byte(v)
	}
	rest, ok := bytes.CutPrefix(body, []byte("\ufeff"))
	if !ok {
		t.Fatalf("CSV export without a UTF-8 BOM: % x", body[:min(8, len(body))])
	}
	rows, err := csv.NewReader(bytes.NewReader(rest)).ReadAll()
	if err != nil {
		t.Fatalf("CSV export: %v\n%s", err, rest)
	}
	if len(rows) != 2 || rows[0][0] != "received_at" || rows[1][5] != want || strings.Contains(string(rest), notWant) {
		t.Fatalf("CSV export of level 1: %q; want the header and %s only", rows, want)
	}
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
	return "'" + r.Replace(s) + "'"
}
