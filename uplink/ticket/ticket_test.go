package ticket_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

func TestMappings(t *testing.T) {
	cases := []struct {
		kind, state string
		status      int
		notice      string
	}{
		{"alarm", "open", 2, "火灾报警信息"},
		{"hazard", "escalate", 2, "火灾报警信息"},
		{"fault", "open", 3, "故障信息"},
		{"alarm", "clear", 1, "火警解除信息"},
		{"hazard", "clear", 1, "火警解除信息"},
		{"fault", "clear", 1, "故障恢复信息"},
		{"alarm", "test", 2, "火灾报警信息"},
	}
	for _, c := range cases {
		if got := ticket.GBT45839Status(c.kind, c.state); got != c.status {
			t.Errorf("GBT45839Status(%s, %s) = %d, want %d", c.kind, c.state, got, c.status)
		}
		if got := ticket.NoticeTypeZh(c.kind, c.state); got != c.notice {
			t.Errorf("NoticeTypeZh(%s, %s) = %s, want %s", c.kind, c.state, got, c.notice)
		}
	}
}

// TestEveryStateValidates builds each state from the sample event, stamps
// it and validates it against docs/ticket.schema.json.
func TestEveryStateValidates(t *testing.T) {
	v := mqtttest.NewValidator(t)
	for _, k := range []rules.Kind{rules.Open, rules.Escalate, rules.Clear, rules.Test} {
		for _, kind := range []string{"alarm", "hazard", "fault"} {
			ev, info, gw, dev := sampleEvent()
			ev.Kind, info.Kind = k, kind
			payload := stamped(t, ticket.FromEvent(ev, info, gw, dev), 7)
			v.ValidateTicket(t, payload)
			v.Validate(t, payload)
		}
	}
	ev, info, gw, dev := sampleEvent()
	tomb := ticket.Tombstone(ticket.FromEvent(ev, info, gw, dev))
	v.ValidateTicket(t, stamped(t, tomb, 8))
}

// TestSchemaRejects: the schema is not a rubber stamp.
func TestSchemaRejects(t *testing.T) {
	v := mqtttest.NewValidator(t)
	ev, info, gw, dev := sampleEvent()
	good := ticket.FromEvent(ev, info, gw, dev)
	unstamped, err := good.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if v.Check(unstamped) == nil {
		t.Error("a ticket without seq and published_at passed")
	}
	bad := good
	bad.GBT45839Status = 3
	if v.Check(stamped(t, bad, 1)) == nil {
		t.Error("an alarm with gbt45839_status 3 passed")
	}
	bad = good
	bad.Gateway.Site.TownshipCode = "3305"
	if v.Check(stamped(t, bad, 1)) == nil {
		t.Error("a 4-digit township_code passed")
	}
}

func stamped(t *testing.T, tk ticket.Ticket, seq uint64) []byte {
	t.Helper()
	p, err := tk.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p, err = ticket.Stamp(p, seq, time.Now(), true)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStampKeepsSiteOffset(t *testing.T) {
	ev, info, gw, dev := sampleEvent()
	p := stamped(t, ticket.FromEvent(ev, info, gw, dev), 3)
	tk, err := ticket.Parse(p)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Seq != 3 || !tk.Buffered || !strings.HasSuffix(tk.PublishedAt, "+08:00") {
		t.Fatalf("stamped: seq %d buffered %v published_at %s", tk.Seq, tk.Buffered, tk.PublishedAt)
	}
	if _, err := ticket.Stamp([]byte(`{"schema":"other"}`), 1, time.Now(), false); err == nil {
		t.Fatal("Stamp accepted a non-ticket")
	}
}

func TestTicketIDPrefixedOnce(t *testing.T) {
	ev, info, gw, dev := sampleEvent()
	first := ticket.FromEvent(ev, info, gw, dev)
	ev.TicketID = first.TicketID // as restored from the outbox after a restart
	if again := ticket.FromEvent(ev, info, gw, dev); again.TicketID != first.TicketID {
		t.Fatalf("ticket id prefixed twice: %s", again.TicketID)
	}
}

func TestEventIDUniqueULID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{26}$`)
	seen := map[string]bool{}
	now := time.Now()
	for range 10000 {
		id := ticket.NewEventID(now)
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("bad or repeated event id %q", id)
		}
		seen[id] = true
	}
	a, b := ticket.NewEventID(now), ticket.NewEventID(now.Add(time.Millisecond))
	if a[:10] >= b[:10] {
		t.Fatalf("time prefix does not sort: %s then %s", a, b)
	}
}

func TestTopics(t *testing.T) {
	tp := ticket.Topics{Prefix: "fenghuo/v1/", Township: "330502103", Gateway: "gw-1"}
	if tp.Tickets() != "fenghuo/v1/330502103/gw-1/tickets" || tp.Status() != "fenghuo/v1/330502103/gw-1/status" ||
		tp.Cmd() != "fenghuo/v1/330502103/gw-1/cmd" || tp.Reply() != "fenghuo/v1/330502103/gw-1/reply" {
		t.Fatalf("topics: %s %s %s %s", tp.Tickets(), tp.Status(), tp.Cmd(), tp.Reply())
	}
}
