package outboxtest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// Two uplink names the suite declares.
const (
	UplinkA = "mqtt"
	UplinkB = "gb26875"
)

// RunUplinks checks an outbox with two delivery cursors ([outbox.Cursors],
// DESIGN §6, issue 11): newOutbox opens a fresh outbox declaring the given
// uplinks and registers its own cleanup.
func RunUplinks(t *testing.T, newOutbox func(t *testing.T, uplinks ...string) outbox.Outbox) {
	cases := []struct {
		name string
		fn   func(t *testing.T, o outbox.Outbox, a, b outbox.Outbox)
	}{
		{"IndependentOrder", testIndependentOrder},
		{"AtLeastOncePerUplink", testAtLeastOncePerUplink},
		{"OutageNeverBlocksTheOther", testOutage},
		{"DeliveredWhenAllHaveIt", testDeliveredByAll},
		{"StatsPerUplink", testStatsPerUplink},
		{"EvictionWithOneBehind", testEvictionOneBehind},
		{"ConcurrentDelivery", testConcurrentDelivery},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := newOutbox(t, UplinkA, UplinkB)
			a, b := MustUplink(t, o, UplinkA), MustUplink(t, o, UplinkB)
			c.fn(t, o, a, b)
		})
	}
	t.Run("UndeclaredUplink", func(t *testing.T) {
		o := newOutbox(t, UplinkA, UplinkB)
		if _, err := outbox.For(o, "nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
			t.Fatalf("For(undeclared) = %v, want an error naming the uplink", err)
		}
		if c, ok := o.(outbox.Cursors); !ok || !slices.Equal(c.Uplinks(), []string{UplinkA, UplinkB}) {
			t.Fatalf("%T: Uplinks() must list the declared uplinks in order", o)
		}
	})
	t.Run("OneUplinkIsTheOutbox", func(t *testing.T) {
		o := newOutbox(t)
		v := MustUplink(t, o, outbox.DefaultUplink)
		recs := MustAppend(t, v, Ticket(1, 2), Ticket(2, 2))
		mustMark(t, v, recs[0].Seq)
		if got := Seqs(MustPending(t, o)); fmt.Sprint(got) != "[2]" {
			t.Fatalf("the outbox's own pending after its only uplink marked seq 1 = %v, want [2]", got)
		}
	})
}

// MustUplink returns the view of uplink name or fails the test.
func MustUplink(t testing.TB, o outbox.Outbox, name string) outbox.Outbox {
	t.Helper()
	v, err := outbox.For(o, name)
	if err != nil {
		t.Fatalf("For(%q): %v", name, err)
	}
	return v
}

func mustMark(t testing.TB, o outbox.Outbox, seqs ...uint64) {
	t.Helper()
	if err := o.MarkSent(context.Background(), time.Now(), seqs...); err != nil {
		t.Fatalf("MarkSent(%v): %v", seqs, err)
	}
}

func testIndependentOrder(t *testing.T, o, a, b outbox.Outbox) {
	MustAppend(t, a, Telemetry(1), Ticket(1, 3), Ticket(2, 2))
	MustAppend(t, b, Ticket(3, 1), Ticket(4, 4))
	want := "[3 1 2 4]" // fire class first, then seq; telemetry last
	for name, v := range map[string]outbox.Outbox{UplinkA: a, UplinkB: b} {
		got := Seqs(MustPending(t, v))
		if fmt.Sprint(got[:4]) != want || len(got) != 5 {
			t.Fatalf("%s pending = %v, want %s then the telemetry: each append is queued once for every uplink", name, got, want)
		}
	}
	mustMark(t, a, 3, 1)
	mustMark(t, b, 4)
	if got := Seqs(MustPending(t, a)); fmt.Sprint(got[:2]) != "[2 4]" {
		t.Fatalf("%s pending = %v, want [2 4 …]", UplinkA, got)
	}
	if got := Seqs(MustPending(t, b)); fmt.Sprint(got[:3]) != "[3 1 2]" {
		t.Fatalf("%s pending = %v, want [3 1 2 …]: another uplink's marks must not move this cursor", UplinkB, got)
	}
}

func testAtLeastOncePerUplink(t *testing.T, o, a, b outbox.Outbox) {
	recs := MustAppend(t, o, Ticket(1, 2), Ticket(2, 2), Ticket(3, 2))
	mustMark(t, a, recs[0].Seq, recs[1].Seq, recs[2].Seq)
	mustMark(t, a, recs[0].Seq) // a repeated PUBACK is not an error
	if got := MustPending(t, a); len(got) != 0 {
		t.Fatalf("%s pending after marking all = %v", UplinkA, Seqs(got))
	}
	got := MustPending(t, b)
	if fmt.Sprint(Seqs(got)) != "[1 2 3]" || string(got[1].Payload) != string(recs[1].Payload) {
		t.Fatalf("%s pending = %v, want every record with its payload", UplinkB, Seqs(got))
	}
	mustMark(t, b, recs[1].Seq)
	if got := Seqs(MustPending(t, b)); fmt.Sprint(got) != "[1 3]" {
		t.Fatalf("%s pending = %v, want [1 3]: an unmarked record stays pending", UplinkB, got)
	}
}

func testOutage(t *testing.T, o, a, b outbox.Outbox) {
	ctx := context.Background()
	// b is down: it never marks. a delivers 50 batches meanwhile.
	for i := range 50 {
		recs := MustAppend(t, o, Ticket(i, 1+i%4), Telemetry(i))
		got, err := a.Pending(ctx, 10)
		if err != nil || len(got) != 2 {
			t.Fatalf("batch %d: %s pending = %v, %v; want only the 2 new records", i, UplinkA, Seqs(got), err)
		}
		mustMark(t, a, recs[0].Seq, recs[1].Seq)
	}
	sa, _ := a.Stats(ctx)
	sb, _ := b.Stats(ctx)
	so, _ := o.Stats(ctx)
	if sa.Depth != 0 || !sa.OldestUnsentTicket.IsZero() || sb.Depth != 100 || so.Depth != 100 {
		t.Fatalf("depths: %s %d (oldest ticket %v), %s %d, outbox %d; want 0, 100, 100", UplinkA, sa.Depth, sa.OldestUnsentTicket, UplinkB, sb.Depth, so.Depth)
	}
	if got, err := b.Pending(ctx, 3); err != nil || len(got) != 3 || got[0].Priority != outbox.PriorityLevel1 {
		t.Fatalf("%s pending after its outage = %v, %v; want the fire class first", UplinkB, Seqs(got), err)
	}
}

func testDeliveredByAll(t *testing.T, o, a, b outbox.Outbox) {
	ctx := context.Background()
	recs := MustAppend(t, o, Ticket(1, 2), Ticket(2, 2), Ticket(3, 2))
	mustMark(t, a, recs[0].Seq, recs[1].Seq)
	mustMark(t, b, recs[1].Seq)
	if got := Seqs(MustPending(t, o)); fmt.Sprint(got) != "[1 3]" {
		t.Fatalf("outbox pending = %v, want [1 3]: delivered only when every uplink has it", got)
	}
	if st, err := o.Stats(ctx); err != nil || st.Depth != 2 || st.Sent != 1 {
		t.Fatalf("outbox Stats = %+v, %v; want depth 2, sent 1", st, err)
	}
	// The outbox's own MarkSent delivers for every uplink.
	mustMark(t, o, recs[2].Seq)
	for name, v := range map[string]outbox.Outbox{UplinkA: a, UplinkB: b} {
		if slices.Contains(Seqs(MustPending(t, v)), recs[2].Seq) {
			t.Fatalf("%s still lists seq %d after the outbox marked it for all", name, recs[2].Seq)
		}
	}
}

func testStatsPerUplink(t *testing.T, o, a, b outbox.Outbox) {
	ctx := context.Background()
	old := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	first := Ticket(1, 2)
	first.CreatedAt = old
	recs := MustAppend(t, o, first, Ticket(2, 2), Telemetry(1))
	mustMark(t, a, recs[0].Seq)
	sa, err := a.Stats(ctx)
	if err != nil || sa.Depth != 2 || sa.Sent != 1 || sa.LastSeq != 2 || sa.OldestUnsentTicket.Equal(old) {
		t.Fatalf("%s Stats = %+v, %v; want depth 2, sent 1, last seq 2, oldest ticket newer than %v", UplinkA, sa, err, old)
	}
	sb, err := b.Stats(ctx)
	if err != nil || sb.Depth != 3 || sb.Sent != 0 || !sb.OldestUnsentTicket.Equal(old) || !sb.OldestUnsent.Equal(old) {
		t.Fatalf("%s Stats = %+v, %v; want depth 3, sent 0, oldest (ticket) %v", UplinkB, sb, err, old)
	}
}

// testEvictionOneBehind: a record one uplink delivered and the other did
// not is unsent for eviction (a tombstone, published only by the uplink
// that lacks it); the plan is [outbox.PlanEviction] on
// [outbox.DeliveredByAll].
func testEvictionOneBehind(t *testing.T, o, a, b outbox.Outbox) {
	ctx := context.Background()
	recs := MustAppend(t, o, evictionMix()...)
	marks := map[string]map[uint64]time.Time{UplinkA: {}, UplinkB: {}}
	at := time.Unix(1_800_000_000, 0)
	var byA, byB []uint64
	for i, r := range recs {
		if !r.IsTicket() {
			continue
		}
		byA = append(byA, r.Seq) // a has every ticket record
		marks[UplinkA][r.Seq] = at
		if strings.HasSuffix(r.EventID, "s") || i%3 == 0 {
			byB = append(byB, r.Seq)
			marks[UplinkB][r.Seq] = at.Add(time.Second)
		}
	}
	mustMarkAt(t, a, at, byA...)
	mustMarkAt(t, b, at.Add(time.Second), byB...)
	p, ok := o.(outbox.EvictionPlanner)
	if !ok {
		t.Skipf("%T does not evict", o)
	}
	seen := outbox.DeliveredByAll(recs, []string{UplinkA, UplinkB}, marks)
	for _, need := range []int64{0, 1, 2000, 1 << 62} {
		got, err := p.EvictionPlan(ctx, need)
		if err != nil {
			t.Fatalf("EvictionPlan(%d): %v", need, err)
		}
		if want := outbox.PlanEviction(seen, need, p.EvictionFreed); !slices.Equal(got, want) {
			t.Fatalf("EvictionPlan(%d) = %v, want (PlanEviction on DeliveredByAll) %v", need, got, want)
		}
	}
	evictAll(t, o, a, b, seen)
}

// evictAll evicts everything it may from an outbox that evicts for real
// ([outbox.Maintainer]) and checks what each uplink then publishes: the
// tombstones replace only what that uplink lacks.
func evictAll(t *testing.T, o, a, b outbox.Outbox, seen []outbox.Record) {
	m, ok := o.(outbox.Maintainer)
	if !ok {
		return
	}
	if _, err := m.Evict(context.Background(), 1); err != nil {
		t.Fatalf("Evict: %v", err)
	}
	if got := MustPending(t, a); len(got) != 0 {
		t.Fatalf("%s had every ticket; after eviction it must get none again, got %v", UplinkA, Seqs(got))
	}
	tombs := 0
	for _, r := range MustPending(t, b) {
		if r.State == "dropped" {
			tombs++
		}
		if !r.IsTicket() {
			t.Fatalf("%s pending after eviction holds telemetry seq %d", UplinkB, r.Seq)
		}
		i := slices.IndexFunc(seen, func(s outbox.Record) bool { return s.Seq == r.Seq })
		if i < 0 || !seen[i].SentAt.IsZero() {
			t.Fatalf("%s pending after eviction holds seq %d it had delivered", UplinkB, r.Seq)
		}
	}
	if tombs == 0 {
		t.Fatalf("%s lacked evictable tickets, yet its pending holds no tombstone after eviction", UplinkB)
	}
}

func mustMarkAt(t testing.TB, o outbox.Outbox, at time.Time, seqs ...uint64) {
	t.Helper()
	if err := o.MarkSent(context.Background(), at, seqs...); err != nil {
		t.Fatalf("MarkSent(%v): %v", seqs, err)
	}
}

// testConcurrentDelivery: appends race two uplinks delivering; each
// uplink gets every seq, and every record ends delivered by both.
func testConcurrentDelivery(t *testing.T, o, a, b outbox.Outbox) {
	const n = 200
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			if _, err := o.Append(ctx, Ticket(i, 1+i%4)); err != nil {
				t.Errorf("Append: %v", err)
				return
			}
		}
	})
	got := [2]map[uint64]bool{{}, {}}
	for i, v := range []outbox.Outbox{a, b} {
		wg.Go(func() {
			for len(got[i]) < n && ctx.Err() == nil {
				p, err := v.Pending(ctx, 16)
				if err != nil {
					t.Errorf("Pending: %v", err)
					return
				}
				for _, r := range p {
					got[i][r.Seq] = true
				}
				if err := v.MarkSent(ctx, time.Now(), Seqs(p)...); err != nil {
					t.Errorf("MarkSent: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if len(got[0]) != n || len(got[1]) != n {
		t.Fatalf("delivered %d and %d distinct seqs, want %d each", len(got[0]), len(got[1]), n)
	}
	if st, err := o.Stats(context.Background()); err != nil || st.Depth != 0 || st.Sent != n {
		t.Fatalf("outbox Stats = %+v, %v; want depth 0, sent %d", st, err, n)
	}
}
