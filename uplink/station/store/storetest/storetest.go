// Package storetest is the conformance suite of the station store: every
// backend of store.Store (SQLite today, PostgreSQL next) runs [Run], as
// every slog handler runs slogtest.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/station/store"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// Run runs the suite; open returns an empty store, closed by the caller's
// cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	for _, c := range []struct {
		name string
		f    func(*testing.T, store.Store)
	}{
		{"DedupByEventID", testDedupByEventID},
		{"Gaps", testGaps},
		{"Lifecycle", testLifecycle},
		{"ClearClosesLowLevel", testClearClosesLowLevel},
		{"FalseAlarmAndTestsMakeNoOrder", testFalseAlarmAndTestsMakeNoOrder},
		{"RejectedAndBounds", testRejectedAndBounds},
		{"StatusAndWatch", testStatusAndWatch},
		{"Accounts", testAccounts},
		{"HistoryFilter", testHistoryFilter},
	} {
		t.Run(c.name, func(t *testing.T) { c.f(t, open(t)) })
	}
}

const (
	gw       = "gw-330502103-yuncun-01"
	township = "330502103"
)

var base = time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)

// Event is a ticket event message of the suite's gateway: seq, state,
// the episode part of its ticket_id and level; event_id from seq.
func Event(seq uint64, state, episode string, level int) store.Message {
	tk := ticket.Ticket{Schema: ticket.Schema, EventID: fmt.Sprintf("ev-%s-%d", gw, seq), TicketID: gw + "/smoke-1/R1/" + episode,
		Seq: seq, State: state, Hazard: "smoke_fire_alarm", Label: ticket.Label{Zh: "烟感火警", En: "Smoke fire alarm"},
		Level: level, Gateway: ticket.Gateway{ID: gw, Site: ticket.Site{Name: "云村文化礼堂"}},
		Device: ticket.Device{ID: "smoke-1", Name: "一楼厨房烟感", Location: "一楼厨房"}}
	p, err := tk.Marshal()
	if err != nil {
		panic(err)
	}
	return store.Message{Kind: store.KindTicket, Topic: "fenghuo/v1/" + township + "/" + gw + "/tickets", Township: township,
		Gateway: gw, Rx: base.Add(time.Duration(seq) * time.Second), Payload: p, Ticket: &tk}
}

func ingest(t *testing.T, st store.Store, msgs ...store.Message) []store.Outcome {
	t.Helper()
	out, err := st.Ingest(context.Background(), msgs)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func counts(t *testing.T, st store.Store) store.Counts {
	t.Helper()
	c, err := st.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testDedupByEventID(t *testing.T, st store.Store) {
	a := Event(1, "open", "T1", 1)
	out := ingest(t, st, a, a, Event(2, "escalate", "T1", 1))
	if out[0] != store.Stored || out[1] != store.Duplicate || out[2] != store.Stored {
		t.Fatalf("outcomes %v, want stored, duplicate, stored", out)
	}
	ingest(t, st, a) // a redelivery in a later batch
	if c := counts(t, st); c.Events != 2 || c.Duplicates != 2 {
		t.Fatalf("counts %+v, want 2 events and 2 duplicates", c)
	}
}

// testGaps: a gap opens above the highest seq, splits as its seqs arrive
// out of order, closes when the last one arrives; a tombstone fills its
// seq but is counted; seqs below the first one seen are no gap.
func testGaps(t *testing.T, st store.Store) {
	ingest(t, st, Event(10, "open", "T1", 1), Event(15, "open", "T2", 3))
	gws := gateways(t, st)
	if g := gws[0].OpenGaps; len(g) != 1 || g[0].From != 11 || g[0].To != 14 || g[0].Left != 4 {
		t.Fatalf("open gaps %+v, want 11..14 with 4 left", g)
	}
	ingest(t, st, Event(12, "open", "T3", 3), Event(9, "open", "T0", 3))
	tomb := Event(11, "dropped", "T4", 3)
	ingest(t, st, tomb, Event(14, "open", "T5", 3))
	if g := gateways(t, st)[0].OpenGaps; len(g) != 1 || g[0].Left != 1 {
		t.Fatalf("open gaps %+v, want one with 1 left (13)", g)
	}
	ingest(t, st, Event(13, "open", "T6", 3))
	g := gateways(t, st)[0]
	if len(g.OpenGaps) != 0 || g.Dropped != 1 || g.HiSeq != 15 {
		t.Fatalf("gateway %+v, want no gap, 1 tombstone, hi 15", g)
	}
	if c := counts(t, st); c.OpenGaps != 0 || c.Tombstones != 1 || c.Events != 7 {
		t.Fatalf("counts %+v", c)
	}
}

func gateways(t *testing.T, st store.Store) []store.Gateway {
	t.Helper()
	gws, err := st.Gateways(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(gws) == 0 {
		t.Fatal("no gateways")
	}
	return gws
}

func orders(t *testing.T, st store.Store) []store.Order {
	t.Helper()
	os, err := st.OpenOrders(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return os
}

func testLifecycle(t *testing.T, st store.Store) {
	ctx := context.Background()
	ingest(t, st, Event(1, "open", "T1", 2), Event(2, "escalate", "T1", 1), Event(3, "clear", "T1", 1))
	os := orders(t, st)
	if len(os) != 1 || os[0].Level != 1 || !os[0].Cleared || os[0].Status != store.StatusOpen || os[0].StatusZh != "待处置" {
		t.Fatalf("orders %+v: want one level-1 order, cleared but still 待处置", os)
	}
	id := os[0].ID
	apply := func(action, note string) error {
		_, err := st.Apply(ctx, store.Transition{OrderID: id, Action: action, By: "值班员", Note: note, At: base.Add(time.Hour)})
		return err
	}
	if err := apply(store.ActReview, ""); !errors.Is(err, store.ErrTransition) {
		t.Fatalf("review of an open order: %v, want ErrTransition", err)
	}
	if err := apply(store.ActAcknowledge, "on my way"); err != nil {
		t.Fatal(err)
	}
	if err := apply(store.ActResolve, ""); !errors.Is(err, store.ErrInput) {
		t.Fatalf("resolve without a note: %v, want ErrInput", err)
	}
	if err := apply(store.ActResolve, strings.Repeat("长", store.MaxNote+1)); !errors.Is(err, store.ErrInput) {
		t.Fatalf("resolve with a long note: %v, want ErrInput", err)
	}
	for _, a := range []string{store.ActResolve, store.ActReview} {
		if err := apply(a, "厨房油烟，已通风"); err != nil {
			t.Fatal(err)
		}
	}
	if err := apply(store.ActFalseAlarm, ""); !errors.Is(err, store.ErrTransition) {
		t.Fatalf("false alarm of a closed order: %v", err)
	}
	o, steps, evs, err := st.Order(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != store.StatusReviewed || o.ClosedAt == nil || len(evs) != 3 || len(steps) != 4 {
		t.Fatalf("order %+v, %d steps, %d events; want reviewed, closed, 4 steps, 3 events", o, len(steps), len(evs))
	}
	if s := steps[1]; s.Action != store.ActAcknowledge || s.By != "值班员" || s.Note != "on my way" || s.To != store.StatusAssigned {
		t.Fatalf("step %+v", s)
	}
	if len(orders(t, st)) != 0 {
		t.Fatal("a reviewed order is still listed as open")
	}
}

// testClearClosesLowLevel: a level 3–4 order nobody took closes on its
// clear; one in hand stays; a level 1–2 order stays (TestLifecycle).
func testClearClosesLowLevel(t *testing.T, st store.Store) {
	ingest(t, st, Event(1, "open", "T1", 3), Event(2, "open", "T2", 4))
	os := orders(t, st)
	if _, err := st.Apply(context.Background(), store.Transition{OrderID: os[1].ID, Action: store.ActAcknowledge, By: "a", At: base}); err != nil {
		t.Fatal(err)
	}
	ingest(t, st, Event(3, "clear", "T1", 3), Event(4, "clear", "T2", 4))
	os = orders(t, st)
	if len(os) != 1 || !strings.HasSuffix(os[0].TicketID, "T2") || !os[0].Cleared || os[0].Status != store.StatusAssigned {
		t.Fatalf("open orders %+v: want only T2, cleared, still 处置中", os)
	}
}

func testFalseAlarmAndTestsMakeNoOrder(t *testing.T, st store.Store) {
	ingest(t, st, Event(1, "test", "test-20261205T080000.000", 4), Event(2, "open", "T1", 1))
	os := orders(t, st)
	if len(os) != 1 {
		t.Fatalf("%d orders, want 1 (a test opens none)", len(os))
	}
	o, err := st.Apply(context.Background(), store.Transition{OrderID: os[0].ID, Action: store.ActFalseAlarm, By: "a", Note: "厨房油烟", At: base})
	if err != nil || o.Status != store.StatusFalseAlarm || o.StatusZh != "误报" {
		t.Fatalf("false alarm: %+v %v", o, err)
	}
}

func testRejectedAndBounds(t *testing.T, st store.Store) {
	bad := Event(1, "open", "T1", 1)
	bad.Ticket.Gateway.ID = "gw-other"
	huge := Event(2, "open", "T2", 1)
	huge.Payload = make([]byte, store.MaxPayload+1)
	given := store.Message{Kind: store.KindTicket, Topic: "x", Gateway: gw, Payload: []byte("{"), Reject: "not JSON"}
	out := ingest(t, st, bad, huge, given)
	for i, o := range out {
		if o != store.Rejected {
			t.Fatalf("message %d: %v, want rejected", i, o)
		}
	}
	if c := counts(t, st); c.Rejected != 3 || c.Events != 0 {
		t.Fatalf("counts %+v", c)
	}
	rej, err := st.Rejected(context.Background(), 10)
	if err != nil || len(rej) != 3 || rej[0].Reason != "not JSON" || !strings.Contains(rej[2].Reason, "does not match the topic") {
		t.Fatalf("rejected %+v %v", rej, err)
	}
}

func testStatusAndWatch(t *testing.T, st store.Store) {
	ctx := context.Background()
	s := ticket.Status{Schema: ticket.StatusSchema, Gateway: gw, State: "online", BufferDepth: 7, Version: "0.3.0"}
	ingest(t, st, store.Message{Kind: store.KindStatus, Topic: "t", Township: township, Gateway: gw, Rx: base, Status: &s, Payload: []byte("{}")})
	g := gateways(t, st)[0]
	if g.State != "online" || g.BufferDepth != 7 || !g.LastStatus.Equal(base) {
		t.Fatalf("gateway %+v", g)
	}
	gap := store.Gap{ID: 1, Gateway: gw, From: 3, To: 4, Left: 2, OpenedAt: base}
	w := store.Watch{At: base.Add(10 * time.Minute), Lost: map[string]string{gw: "no heartbeat"}, Gaps: []store.Gap{gap}}
	for range 2 { // raising twice keeps one order each
		if err := st.Watch(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	os := orders(t, st)
	if len(os) != 2 || os[0].Origin != store.OriginLost || os[0].LabelZh != "网关失联" || os[1].LabelZh != "数据缺失" ||
		!strings.Contains(os[1].Detail, "seq 3..4") {
		t.Fatalf("orders %+v", os)
	}
	if err := st.Watch(ctx, store.Watch{At: base.Add(11 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if os := orders(t, st); len(os) != 0 {
		t.Fatalf("orders still open after their causes went: %+v", os)
	}
	o, steps, _, err := st.Order(ctx, 1)
	if err != nil || !o.Cleared || len(steps) != 2 {
		t.Fatalf("the cleared order stays in the record: %+v %v %v", o, steps, err)
	}
	w.At = base.Add(12 * time.Minute)
	if err := st.Watch(ctx, w); err != nil { // lost again: a new order
		t.Fatal(err)
	}
	if os := orders(t, st); len(os) != 1 || os[0].ID == 1 || os[0].Origin != store.OriginLost {
		t.Fatalf("a new loss opens a new order: %+v", os)
	}
}

func testAccounts(t *testing.T, st store.Store) {
	ctx := context.Background()
	if err := st.PutUser(ctx, "", "h", base); !errors.Is(err, store.ErrInput) {
		t.Fatalf("empty name: %v", err)
	}
	if err := st.PutUser(ctx, "值班员", "h1", base); err != nil {
		t.Fatal(err)
	}
	if h, err := st.UserHash(ctx, "值班员"); err != nil || h != "h1" {
		t.Fatalf("hash %q %v", h, err)
	}
	sec := store.Secret{Hash: "abc", User: "值班员", Kind: "session", CSRF: "c", Expires: base.Add(time.Hour)}
	if err := st.PutSecret(ctx, sec); err != nil {
		t.Fatal(err)
	}
	if got, err := st.LookupSecret(ctx, "abc", base); err != nil || got.CSRF != "c" {
		t.Fatalf("lookup %+v %v", got, err)
	}
	if _, err := st.LookupSecret(ctx, "abc", base.Add(2*time.Hour)); !errors.Is(err, store.ErrUnknown) {
		t.Fatalf("expired session: %v", err)
	}
	if err := st.DropSecret(ctx, "abc"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.LookupSecret(ctx, "abc", base); !errors.Is(err, store.ErrUnknown) {
		t.Fatalf("a dropped session: %v", err)
	}
}

func testHistoryFilter(t *testing.T, st store.Store) {
	ingest(t, st, Event(1, "open", "T1", 1), Event(2, "open", "T2", 3), Event(3, "clear", "T2", 3))
	evs, err := st.History(context.Background(), store.Filter{Level: 3, From: base.Add(2 * time.Second), Gateway: gw})
	if err != nil || len(evs) != 2 || evs[0].Seq != 3 {
		t.Fatalf("history %v %v, want seqs 3, 2", evs, err)
	}
}
