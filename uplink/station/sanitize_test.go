package station_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/station"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// fakeAllClear is what a hostile publisher put in a name (issue 15): clear
// the screen, home the cursor and print a green "ALL CLEAR".
const fakeAllClear = "\x1b[2J\x1b[H\x1b[32mALL CLEAR\x1b[0m"

// hostile is a valid ticket whose text fields carry escapes, C1 and bidi
// controls.
func hostile(t *testing.T) []byte {
	t.Helper()
	tk, err := ticket.Parse(smoke(7, "ev-hostile"))
	if err != nil {
		t.Fatal(err)
	}
	tk.Gateway.Site.Name = fakeAllClear
	tk.Device.Name = "烟感\u202e\u009b2J\x7f"
	tk.Device.Location = "一楼\r\n" + fakeAllClear
	p, err := tk.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func assertPlain(t *testing.T, what, text string) {
	t.Helper()
	for _, r := range text {
		if (r < 0x20 && r != '\n') || (r >= 0x7f && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			t.Fatalf("%s carries %U to the terminal:\n%q", what, r, text)
		}
	}
}

func TestWatchShowsHostileTextPlain(t *testing.T) {
	var out syncBuf
	w := station.NewWatcher(station.Options{Out: &out})
	w.Handle(topics.Tickets(), hostile(t))
	st, err := json.Marshal(ticket.Status{Schema: ticket.StatusSchema, Gateway: gw, State: ticket.StatusOnline,
		At: "2026-11-29T08:15:02+08:00", Version: "v1\x1b]0;pwned\x07" + fakeAllClear})
	if err != nil {
		t.Fatal(err)
	}
	w.HandleMessage(topics.Status(), st, false, time.Now())
	w.Handle("fenghuo/v1/330502103/gw\x1b[2J/tickets", []byte(`{"schema":`+"\"\x1b[2J\"}"))
	text := out.String()
	assertPlain(t, "station watch", text)
	if strings.Count(text, "\n") != 3 || !strings.Contains(text, "ALL CLEAR · 烟感 (一楼  ALL CLEAR)") {
		t.Fatalf("want three plain lines with the names' text kept:\n%s", text)
	}
}

func TestWatchJSONEscapesControls(t *testing.T) {
	var out syncBuf
	w := station.NewWatcher(station.Options{Out: &out, JSON: true})
	w.Handle(topics.Tickets(), hostile(t))
	text := out.String()
	assertPlain(t, "station watch --json", text)
	var tk ticket.Ticket
	if err := json.Unmarshal([]byte(text), &tk); err != nil || tk.Device.Name != "烟感\u202e\u009b2J\x7f" {
		t.Fatalf("--json line %q reads back as %q, %v; want the same values, escaped", text, tk.Device.Name, err)
	}
}
