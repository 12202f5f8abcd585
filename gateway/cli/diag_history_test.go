package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/diagview"
	"github.com/fenghuo-iot/fenghuo/gateway/testalarm"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// TestDiagTestAlarmAndHistory drives test-alarm and history as a
// maintenance worker would, against `fenghuo run` on a simulated site and
// a real mosquitto: a fire alarm is raised and delivered, a test ticket
// goes out and the township acknowledges it, and history lists both, as a
// table, as JSON and exported as CSV and JSON.
func TestDiagTestAlarmAndHistory(t *testing.T) {
	broker := mqtttest.StartMosquitto(t)
	v := mqtttest.NewValidator(t)
	const gw = "gw-330502103-diag-01"
	tickets := mqtttest.Subscribe(t, broker.URL(), "fenghuo/v1/330502103/"+gw+"/tickets")
	_, socket, smoke := diagSiteWith(t, broker.URL())

	// A real alarm first, delivered.
	if err := smoke.SetBit("status", 1, true); err != nil {
		t.Fatal(err)
	}
	open := parseTicket(t, v, tickets.WaitFor(1, 15*time.Second)[0].Payload)
	if open.State != "open" || open.Hazard != "smoke_fire_alarm" {
		t.Fatalf("first ticket %s %s, want open smoke_fire_alarm", open.State, open.Hazard)
	}

	// The township acknowledges the test ticket as soon as it sees it.
	acked := make(chan int, 1)
	go func() {
		msgs := tickets.WaitUntil("the test ticket", 15*time.Second, func(ms []mqtttest.Message) bool { return len(ms) >= 2 })
		tk, err := ticket.Parse(msgs[1].Payload)
		if err != nil {
			acked <- -1
			return
		}
		var out, errOut syncBuffer
		acked <- run(context.Background(), []string{"station", "ack", tk.TicketID, "--broker", broker.URL(),
			"--township", "330502103", "--gateway", gw, "--by", "织里镇值班员"}, &out, &errOut)
	}()
	code, out, errOut := fenghuo(t, "diag", "test-alarm", "--socket", socket, "--device", "smoke-1f-kitchen", "--wait", "15s")
	if code != 0 {
		t.Fatalf("diag test-alarm: exit %d\n%s%s", code, out, errOut)
	}
	if c := <-acked; c != 0 {
		t.Fatalf("station ack of the test ticket: exit %d", c)
	}
	norm := regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`).ReplaceAllString(out, "TIME")
	norm = regexp.MustCompile(`\d+(\.\d+)?(ms|s|µs)`).ReplaceAllString(norm, "DUR")
	norm = regexp.MustCompile(`test-\d{8}T\d{6}\.\d{3}`).ReplaceAllString(norm, "test-STAMP")
	want := `test ticket committed  TIME (seq 2): 烟感火警 Smoke fire alarm, level 1 一级, rule R1
ticket id              gw-330502103-diag-01/smoke-1f-kitchen/R1/test-STAMP
broker acknowledged    TIME (PUBACK, DUR after commit)
township acknowledged  TIME by 织里镇值班员 (DUR after PUBACK)
`
	if norm != want {
		t.Errorf("diag test-alarm output (times normalised):\n%s\nwant:\n%s", norm, want)
	}
	test := parseTicket(t, v, tickets.Messages()[1].Payload)
	if test.State != "test" || test.Seq != 2 || test.Device.ID != "smoke-1f-kitchen" || !strings.Contains(test.TicketID, "/test-") {
		t.Errorf("published test ticket: state %s seq %d device %s ticket %s", test.State, test.Seq, test.Device.ID, test.TicketID)
	}

	// Another one with --json, no township ack this time: exit 0 (the broker took it).
	var res testalarm.Result
	diagJSON(t, &res, 0, "diag", "test-alarm", "--socket", socket, "--device", "smoke-1f-kitchen", "--wait", "1s")
	if res.Seq != 3 || res.SentAt.IsZero() || !res.AckedAt.IsZero() || res.Hazard != "smoke_fire_alarm" {
		t.Errorf("test-alarm --json %+v", res)
	}

	// The rule engine knows nothing of test tickets: one open alarm.
	var al api.Alarms
	diagJSON(t, &al, 0, "diag", "alarms", "--socket", socket)
	if len(al.Alarms) != 1 || al.Alarms[0].TicketID != open.TicketID {
		t.Errorf("alarms after test-alarm: %+v", al.Alarms)
	}

	// history: time order, delivered, the ack of the test ticket.
	var h api.History
	diagJSON(t, &h, 0, "diag", "history", "--socket", socket)
	if len(h.Records) != 3 {
		t.Fatalf("history: %d records, want 3 (open, test, test): %+v", len(h.Records), h.Records)
	}
	states := []string{}
	for i, r := range h.Records {
		states = append(states, r.State)
		if r.SentAt.IsZero() {
			t.Errorf("history record %d (%s) not delivered", i, r.State)
		}
		if i > 0 && r.CreatedAt.Before(h.Records[i-1].CreatedAt) {
			t.Errorf("history not in time order at %d", i)
		}
	}
	if got := strings.Join(states, ","); got != "open,test,test" {
		t.Errorf("history states %s, want open,test,test", got)
	}
	if h.Records[0].TicketID != open.TicketID || h.Records[0].LabelZh != "烟感火警" || h.Records[0].DeviceName != "一楼厨房烟感" {
		t.Errorf("history record 0 %+v", h.Records[0])
	}
	if r := h.Records[1]; r.State != "test" || r.AckedBy != "织里镇值班员" || r.TicketID != test.TicketID {
		t.Errorf("history record 1 (the acknowledged test) %+v", r)
	}
	code, out, _ = fenghuo(t, "diag", "history", "--socket", socket)
	rows := lines(out)
	if code != 0 || len(rows) != 5 || !strings.HasPrefix(rows[0], "3 records from ") || !strings.HasPrefix(rows[1], "TIME ") {
		t.Fatalf("diag history: exit %d\n%s", code, out)
	}
	if !strings.Contains(rows[2], "1 一级") || !strings.Contains(rows[2], "烟感火警 Smoke fire alarm") || !strings.Contains(out, "织里镇值班员 at ") {
		t.Errorf("diag history table:\n%s", out)
	}
	col := func(row, cell string) int { return diagview.DisplayWidth(row[:strings.Index(row, cell)]) }
	if a, b := col(rows[1], "HAZARD"), col(rows[2], "烟感火警"); a != b {
		t.Errorf("HAZARD column at %d and %d:\n%s", a, b, out)
	}
	// A range that holds nothing.
	code, out, _ = fenghuo(t, "diag", "history", "--socket", socket, "--until", "2020-01-01")
	if code != 0 || out != "no stored alarm or fault records in this time range\n" {
		t.Errorf("history --until 2020-01-01: exit %d %q", code, out)
	}

	// Export as CSV: BOM, header, one row per record, RFC 4180.
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "history.csv")
	code, out, errOut = fenghuo(t, "diag", "history", "--socket", socket, "--since", "1h", "--export", csvPath)
	if code != 0 || !strings.HasPrefix(out, "exported 3 records from ") || !strings.Contains(out, "(CSV, UTF-8 with BOM)") {
		t.Fatalf("history --export csv: exit %d %q %q", code, out, errOut)
	}
	data, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte(diagview.UTF8BOM)) || !bytes.Contains(data, []byte("\r\n")) {
		t.Errorf("CSV export lacks the BOM or CRLF: %q", data[:min(len(data), 40)])
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte(diagview.UTF8BOM)))).ReadAll()
	if err != nil {
		t.Fatalf("CSV export does not parse: %v", err)
	}
	if len(recs) != 4 || strings.Join(recs[0], ",") != strings.Join(diagview.HistoryCSVHeader, ",") {
		t.Fatalf("CSV export: %d rows, header %q", len(recs), recs[0])
	}
	if r := recs[1]; r[0] != "1" || r[3] != "一级" || r[4] != "open" || r[6] != "烟感火警" || r[11] != "一楼厨房烟感" || r[14] == "" {
		t.Errorf("CSV row 1 %q", r)
	}
	if r := recs[2]; r[4] != "test" || r[15] != "织里镇值班员" || r[16] == "" {
		t.Errorf("CSV row 2 (acknowledged test) %q", r)
	}
	if _, err := time.Parse(ticket.TimeLayout, recs[1][1]); err != nil {
		t.Errorf("CSV time %q: %v", recs[1][1], err)
	}
	// Export as JSON (by the file name).
	jsonPath := filepath.Join(dir, "history.json")
	if code, out, errOut = fenghuo(t, "diag", "history", "--socket", socket, "--export", jsonPath); code != 0 || !strings.Contains(out, "(JSON)") {
		t.Fatalf("history --export json: exit %d %q %q", code, out, errOut)
	}
	var hj api.History
	if data, err := os.ReadFile(jsonPath); err != nil || json.Unmarshal(data, &hj) != nil || len(hj.Records) != 3 || hj.Records[2].Seq != 3 {
		t.Errorf("JSON export: %v, %d records", err, len(hj.Records))
	}
}

// Without a broker the test ticket stays queued: exit 1 naming the
// uplink. An unknown device is named with the devices there are.
func TestDiagTestAlarmNoBroker(t *testing.T) {
	_, socket, smoke := diagSite(t)
	code, out, errOut := fenghuo(t, "diag", "test-alarm", "--socket", socket, "--device", "smoke-1f-kitchen", "--wait", "1s")
	if code != 1 || !strings.Contains(out, "test ticket committed") || !strings.Contains(errOut, "the broker did not acknowledge the test ticket within 1s") {
		t.Errorf("test-alarm without broker: exit %d\n%s%s", code, out, errOut)
	}
	var q api.Queue
	diagJSON(t, &q, 0, "diag", "queue", "--socket", socket)
	if q.Depth != 1 || q.Items[0].State != "test" || q.Items[0].Seq != 1 {
		t.Errorf("queue after test-alarm without broker: %+v", q)
	}
	// A real fire alarm raised after it goes out before it.
	if err := smoke.SetBit("status", 1, true); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the fire alarm queued", func() bool {
		diagJSON(t, &q, 0, "diag", "queue", "--socket", socket)
		return q.Depth == 2
	})
	if a, b := q.Items[0], q.Items[1]; a.State != "open" || a.Seq != 2 || b.State != "test" || b.Seq != 1 {
		t.Errorf("sending order %+v, %+v; want the level-1 open (seq 2) before the test (seq 1)", a, b)
	}
	code, _, errOut = fenghuo(t, "diag", "test-alarm", "--socket", socket, "--device", "nope")
	if code != 1 || !strings.Contains(errOut, `no device "nope" in this gateway's config (devices: smoke-1f-kitchen, efd-1f-main)`) {
		t.Errorf("test-alarm unknown device: exit %d %q", code, errOut)
	}
	code, _, errOut = fenghuo(t, "diag", "test-alarm", "--socket", socket)
	if code != 2 || !strings.Contains(errOut, "--device D is required") {
		t.Errorf("test-alarm without --device: exit %d %q", code, errOut)
	}
}

func TestDiagHistoryUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"diag", "history", "--since", "yesterday"}, `--since: "yesterday" is not a date`},
		{[]string{"diag", "history", "--since", "2026-11-29", "--until", "2026-11-28"}, "is not after --since"},
		{[]string{"diag", "history", "--format", "xml"}, `--format "xml": want csv or json`},
	} {
		code, out, errOut := fenghuo(t, tc.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

func TestParseWhen(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, loc)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"", time.Time{}},
		{"90m", now.Add(-90 * time.Minute)},
		{"7d", now.AddDate(0, 0, -7)},
		{"2026-11-28", time.Date(2026, 11, 28, 0, 0, 0, 0, loc)},
		{"2026-11-28 08:30", time.Date(2026, 11, 28, 8, 30, 0, 0, loc)},
		{"2026-11-28T08:30:05Z", time.Date(2026, 11, 28, 8, 30, 5, 0, time.UTC)},
	} {
		got, err := parseWhen(tc.in, now, loc)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}
