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
		{"alarm", "test", 1, "测试信息"},
		{"fault", "test", 1, "测试信息"},
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
	for _, k := range []rules.Kind{rules.Open, rules.Escalate, rules.Clear, rules.Test} {
		for _, after := range []rules.Condition{rules.ConditionNormal, rules.ConditionDisabled, rules.ConditionFault, rules.ConditionAlarm} {
			ev, info, gw, dev := sampleEvent()
			ev.Kind, ev.After = k, after
			info.Code, info.Kind, info.Condition = "detector_disabled", "fault", rules.ConditionDisabled
			ev.Hazard = info.Code
			payload := stamped(t, ticket.FromEvent(ev, info, gw, dev), 9)
			v.ValidateTicket(t, payload)
			tomb, err := ticket.Parse(payload)
			if err != nil {
				t.Fatal(err)
			}
			v.ValidateTicket(t, stamped(t, ticket.Tombstone(tomb), 9))
		}
	}
	ev, info, gw, dev := sampleEvent()
	tomb := ticket.Tombstone(ticket.FromEvent(ev, info, gw, dev))
	v.ValidateTicket(t, stamped(t, tomb, 8))
}

// The GB/T 45839 coding of every event: the status is the device's state
// after it, a test is never 报警 nor 火灾报警信息, 屏蔽 has its own notice.
func TestCoding(t *testing.T) {
	const (
		normal   = rules.ConditionNormal
		disabled = rules.ConditionDisabled
		fault    = rules.ConditionFault
		alarm    = rules.ConditionAlarm
	)
	cases := []struct {
		cond        rules.Condition
		state       string
		after       rules.Condition
		status      int
		notice      string
		description string
	}{
		{alarm, "open", alarm, 2, "火灾报警信息", "an alarm opens"},
		{alarm, "open", normal, 2, "火灾报警信息", "an open is at least its own condition"},
		{fault, "open", fault, 3, "故障信息", "a fault opens"},
		{fault, "open", alarm, 2, "故障信息", "a fault opens on a device in alarm"},
		{fault, "clear", alarm, 2, "故障恢复信息", "R3 clears while R1 is open"},
		{fault, "clear", normal, 1, "故障恢复信息", "the last fault clears"},
		{alarm, "clear", fault, 3, "火警解除信息", "the alarm clears, a fault stays"},
		{disabled, "open", disabled, 4, "屏蔽信息", "the disabled bit"},
		{disabled, "open", fault, 3, "屏蔽信息", "disabled while in fault"},
		{disabled, "clear", normal, 1, "屏蔽解除信息", "enabled again"},
		{alarm, "test", normal, 1, "测试信息", "a test"},
		{alarm, "test", alarm, 1, "测试信息", "a test while an alarm is open is still not 报警"},
		{alarm, "test", fault, 3, "测试信息", "a test while a fault is open"},
		{alarm, "test", disabled, 4, "测试信息", "a test of a disabled device"},
	}
	for _, c := range cases {
		status, notice := ticket.Coding(c.cond, c.state, c.after)
		if status != c.status || notice != c.notice {
			t.Errorf("%s: Coding(%v, %s, %v) = %d %s, want %d %s", c.description, c.cond, c.state, c.after, status, notice, c.status, c.notice)
		}
	}
}

// A tombstone keeps the coding of the event it replaces: a dropped test
// stays test information, a dropped clear a clear.
func TestTombstoneKeepsCoding(t *testing.T) {
	for _, k := range []rules.Kind{rules.Test, rules.Clear, rules.Open} {
		ev, info, gw, dev := sampleEvent()
		ev.Kind, ev.After = k, rules.ConditionFault
		orig := ticket.FromEvent(ev, info, gw, dev)
		tomb := ticket.Tombstone(orig)
		if tomb.State != "dropped" || tomb.GBT45839Status != orig.GBT45839Status || tomb.NoticeTypeZh != orig.NoticeTypeZh ||
			tomb.GradeZh != orig.GradeZh || tomb.Evidence != nil {
			t.Errorf("%v: tombstone %d %s %s, replaced %d %s %s", k, tomb.GBT45839Status, tomb.NoticeTypeZh, tomb.GradeZh,
				orig.GBT45839Status, orig.NoticeTypeZh, orig.GradeZh)
		}
	}
}

// gb26875_component_type is the hazard's where it knows better than the
// device: a combined detector's temperature channel is 18.
func TestComponentTypePerHazard(t *testing.T) {
	ev, info, gw, dev := sampleEvent()
	dev.GB26875ComponentType = 16
	if tk := ticket.FromEvent(ev, info, gw, dev); tk.Device.GB26875ComponentType != 16 {
		t.Errorf("no hazard type: %d, want the device's 16", tk.Device.GB26875ComponentType)
	}
	ev.ComponentType = 18
	if tk := ticket.FromEvent(ev, info, gw, dev); tk.Device.GB26875ComponentType != 18 {
		t.Errorf("hazard type 18: got %d", tk.Device.GB26875ComponentType)
	}
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
	test := ticket.FromEvent(ev, info, gw, dev)
	test.State, test.GBT45839Status, test.NoticeTypeZh = "test", 2, "火灾报警信息"
	if v.Check(stamped(t, test, 1)) == nil {
		t.Error("a test coded 2 火灾报警信息 passed")
	}
	test.GBT45839Status, test.NoticeTypeZh = 1, "火灾报警信息"
	if v.Check(stamped(t, test, 1)) == nil {
		t.Error("a test with notice 火灾报警信息 passed")
	}
	bad = good
	bad.TicketID = "gw-330502103-yuncun-01/efd-1f-main/R7/20261129T001502"
	if v.Check(stamped(t, bad, 1)) == nil {
		t.Error("a ticket_id without milliseconds passed")
	}
	bad = good
	bad.GradeZh = "重大隐患"
	if v.Check(stamped(t, bad, 1)) == nil {
		t.Error("grade_zh 重大隐患 passed")
	}
	for _, strip := range []string{`"area_code":"330502103",`, `"gb26875_component_type":17,`, `"category_zh":"剩余电流式电气火灾监控探测器",`, `"track_zh":"平安法治"`} {
		p := stamped(t, good, 1)
		q := strings.Replace(string(p), strip, "", 1)
		q = strings.Replace(q, `,}`, `}`, 1)
		if q == string(p) {
			t.Fatalf("%s not in %s", strip, p)
		}
		if err := v.Check([]byte(q)); err == nil {
			t.Errorf("a ticket without %s passed", strip)
		}
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
