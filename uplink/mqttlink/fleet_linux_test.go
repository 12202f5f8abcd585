package mqttlink_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/sqlite"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// The fleet test: many gateway links, each a real Link with its own SQLite
// outbox (one file per gateway in one directory, as on the gateways: about
// 4 descriptors each, the database, its WAL and shared memory and the
// state file, well within the limit checked below), against one real
// mosquitto that is restarted mid-run. A TCP proxy in front of mosquitto
// (mqtttest.Proxy) notes every CONNECT it forwards, so the rate is the one
// the broker sees; mosquitto's own log gives the same per second.
//
// FENGHUO_FLEET=1 runs 1 000 gateways with the default spread (10 s);
// without it 200 gateways with a 5 s spread run in make test.
// FENGHUO_FLEET_SPREAD overrides the spread (scripts/fleet.sh runs it with
// 0 to show the storm without it); with 0 the peak is measured, not bounded.
// FENGHUO_FLEET_DOWN keeps mosquitto stopped at least that long (a slow
// restart).

const (
	fleetWindow = 100 * time.Millisecond
	fleetTopic  = "fenghuo/v1/" + township + "/+/tickets"
)

func fleetSize(t *testing.T) (n int, spread time.Duration) {
	n, spread = 200, 5*time.Second
	if os.Getenv("FENGHUO_FLEET") == "1" {
		n, spread = 1000, mqttlink.DefaultConnectSpread
	}
	if s := os.Getenv("FENGHUO_FLEET_SPREAD"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("FENGHUO_FLEET_SPREAD=%q: %v", s, err)
		}
		spread = d
	}
	return n, spread
}

// fleetDown is how long mosquitto stays stopped at least.
func fleetDown(t *testing.T) time.Duration {
	s := os.Getenv("FENGHUO_FLEET_DOWN")
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("FENGHUO_FLEET_DOWN=%q: %v", s, err)
	}
	return d
}

// fleet is n gateway links with their outboxes.
type fleet struct {
	ids    []string
	stores []*sqlite.Store
	links  []*mqttlink.Link
	mu     sync.Mutex
	events []map[string]bool // event ids appended, per gateway
	seqs   []uint64          // last ticket seq appended, per gateway
}

func newFleet(t *testing.T, n int, spread time.Duration, broker string) *fleet {
	t.Helper()
	dir := t.TempDir()
	f := &fleet{}
	for i := range n {
		id := fmt.Sprintf("gw-%s-%04d", township, i)
		st, err := sqlite.Open(filepath.Join(dir, id+".db"), sqlite.Options{})
		if err != nil {
			t.Fatalf("gateway %d: %v", i, err)
		}
		t.Cleanup(func() { _ = st.Close() })
		l, err := mqttlink.New(mqttlink.Options{Broker: broker, TownshipCode: township, GatewayID: id,
			Outbox: st, ConnectSpread: spread})
		if err != nil {
			t.Fatal(err)
		}
		f.ids, f.stores, f.links = append(f.ids, id), append(f.stores, st), append(f.links, l)
		f.events, f.seqs = append(f.events, map[string]bool{}), append(f.seqs, 0)
	}
	return f
}

// run starts every link at once; the returned stop cancels them and waits
// until every Run returned.
func (f *fleet) run(t *testing.T) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, l := range f.links {
		wg.Go(func() {
			if err := l.Run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	return func() { cancel(); wg.Wait() }
}

// appendAll appends one level-2 ticket to every gateway, 16 at a time
// (a fire-class ticket would make its gateway skip the spread).
func (f *fleet) appendAll(t *testing.T) {
	t.Helper()
	work := make(chan int)
	errs := make(chan error, len(f.links))
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range work {
				errs <- f.appendOne(i)
			}
		})
	}
	for i := range f.links {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fleet) appendOne(i int) error {
	f.mu.Lock()
	n := len(f.events[i]) + 1
	f.mu.Unlock()
	r, err := recordFor(f.ids[i], n, 2)
	if err != nil {
		return err
	}
	got, err := f.stores[i].Append(context.Background(), r)
	if err != nil {
		return fmt.Errorf("gateway %s: append: %w", f.ids[i], err)
	}
	f.mu.Lock()
	f.events[i][r.EventID] = true
	f.seqs[i] = got[0].Seq
	f.mu.Unlock()
	f.links[i].Notify()
	return nil
}

func (f *fleet) tickets() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, e := range f.events {
		n += len(e)
	}
	return n
}

// waitConnected polls until every link is connected and returns when.
func (f *fleet) waitConnected(t *testing.T, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		down := 0
		for _, l := range f.links {
			if !l.Connected() {
				down++
			}
		}
		if down == 0 {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d gateways still not connected after %s", down, len(f.links), timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// delivery is what the subscriber received, per gateway.
type delivery struct {
	next   int                        // messages processed
	events map[string]map[string]bool // gateway → event ids
	seqs   map[string]map[uint64]bool // gateway → ticket seqs
	copies int                        // messages received, duplicates included
}

func (d *delivery) add(msgs []mqtttest.Message) error {
	if d.events == nil {
		d.events, d.seqs = map[string]map[string]bool{}, map[string]map[uint64]bool{}
	}
	for _, m := range msgs[d.next:] {
		parts := strings.Split(m.Topic, "/")
		tk, err := ticket.Parse(m.Payload)
		if err != nil || len(parts) != 5 {
			return fmt.Errorf("message on %s: %v", m.Topic, err)
		}
		gw := parts[3]
		if d.events[gw] == nil {
			d.events[gw], d.seqs[gw] = map[string]bool{}, map[uint64]bool{}
		}
		d.events[gw][tk.EventID], d.seqs[gw][tk.Seq] = true, true
		d.copies++
	}
	d.next = len(msgs)
	return nil
}

// missing counts the gateways that lack an appended event, and names one.
func (d *delivery) missing(f *fleet) (n int, example string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, want := range f.events {
		for id := range want {
			if !d.events[f.ids[i]][id] {
				n++
				example = fmt.Sprintf("gateway %s lacks event %s (%d of %d received)", f.ids[i], id, len(d.events[f.ids[i]]), len(want))
				break
			}
		}
	}
	return n, example
}

// wait polls the subscriber until every appended event arrived.
func (d *delivery) wait(t *testing.T, f *fleet, rec *mqtttest.Recorder, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if err := d.add(rec.Messages()); err != nil {
			t.Fatal(err)
		}
		n, example := d.missing(f)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, %d of %d gateways have not delivered every ticket; e.g. %s", timeout, n, len(f.ids), example)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkExact: per gateway, exactly the appended events and seqs 1..last,
// none missing, none foreign.
func (d *delivery) checkExact(t *testing.T, f *fleet) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(d.events) != len(f.ids) {
		t.Errorf("tickets from %d gateways, want %d", len(d.events), len(f.ids))
	}
	for i, id := range f.ids {
		if got, want := len(d.events[id]), len(f.events[i]); got != want {
			t.Errorf("gateway %s: %d distinct event ids, want %d", id, got, want)
		}
		for s := uint64(1); s <= f.seqs[i]; s++ {
			if !d.seqs[id][s] {
				t.Errorf("gateway %s: seq %d missing (last %d)", id, s, f.seqs[i])
			}
		}
		if got := uint64(len(d.seqs[id])); got != f.seqs[i] {
			t.Errorf("gateway %s: %d distinct seqs, want 1..%d", id, got, f.seqs[i])
		}
	}
}

// checkFDLimit raises the soft descriptor limit to need when it is lower
// (Go already raises it to the hard limit at start) or fails.
func checkFDLimit(t *testing.T, need uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= need {
		return
	}
	lim.Cur = min(need, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < need {
		t.Fatalf("the fleet needs %d file descriptors; the limit is %d (hard %d): raise it (ulimit -n)", need, lim.Cur, lim.Max)
	}
}

// windowPeak is the largest count of times in fixed windows of w from
// from on (earlier times are ignored).
func windowPeak(times []time.Time, from time.Time, w time.Duration) int {
	counts := map[int64]int{}
	peak := 0
	for _, at := range times {
		if d := at.Sub(from); d >= 0 {
			k := int64(d / w)
			counts[k]++
			peak = max(peak, counts[k])
		}
	}
	return peak
}

// expectedPeak is the largest expected number of CONNECTs in any window
// of w after a drop at 0 that kept the broker down for down. Gateway i
// first tries at J + offs[i], J uniform over [0.5 s, 1 s] (the backoff's
// jitter after a loss, MinBackoff 1 s); an attempt before down fails and
// the next comes at the first slot (first attempt + k × spread) after the
// next backoff ([1 s, 2 s], then [2 s, 4 s] …), or after the backoff
// alone without a spread. Each gateway's time of success is sampled 200
// times (a fixed seed) into 10 ms bins.
func expectedPeak(offs []time.Duration, spread, down, w time.Duration) float64 {
	const samples, bin = 200, 10 * time.Millisecond
	r := rand.New(rand.NewPCG(1, 2))
	jitter := func(d time.Duration) time.Duration { return d/2 + time.Duration(r.Int64N(int64(d/2)+1)) }
	var hist []float64
	for _, o := range offs {
		for range samples {
			first := jitter(time.Second) + o
			at := first
			for d := 2 * time.Second; at < down; d = min(2*d, time.Minute) {
				at += jitter(d)
				if spread > 0 {
					at = first + (at-first+spread-1)/spread*spread
				}
			}
			k := int(at / bin)
			if k >= len(hist) {
				hist = append(hist, make([]float64, k+1-len(hist))...)
			}
			hist[k] += 1.0 / samples
		}
	}
	best, sum, n := 0.0, 0.0, int(w/bin)
	for k := range hist {
		sum += hist[k]
		if k >= n {
			sum -= hist[k-n]
		}
		best = max(best, sum)
	}
	return best
}

// chernoff is the smallest k above mean m with P(X ≥ k) ≤ p for a sum of
// independent Bernoulli variables of mean m: e^-m (e·m/k)^k ≤ p.
func chernoff(m, p float64) int {
	for k := int(math.Ceil(m)) + 1; ; k++ {
		if -m+float64(k)*(1+math.Log(m)-math.Log(float64(k))) <= math.Log(p) {
			return k
		}
	}
}

var connectLine = regexp.MustCompile(`(?m)^(\d+): New client connected from \S+ as (gw-\S+)`)

// brokerPeak is the largest number of gateway connections mosquitto logged
// in one second (its clock) at or after from.
func brokerPeak(log string, from time.Time) int {
	counts := map[int64]int{}
	peak := 0
	for _, m := range connectLine.FindAllStringSubmatch(log, -1) {
		sec, err := strconv.ParseInt(m[1], 10, 64)
		if err == nil && sec >= from.Unix() {
			counts[sec]++
			peak = max(peak, counts[sec])
		}
	}
	return peak
}

// TestFleetReconnectStorm: the fleet connects (each gateway after its
// offset), delivers a ticket each, and mosquitto is restarted: a ticket
// each is appended while it is down and another as it comes back. Every
// ticket is delivered (per gateway: every event id, seq 1..3, none
// foreign), and the CONNECTs the broker sees in any 100 ms stay under the
// bound derived from the offsets and the jitter (see reconnectBound).
func TestFleetReconnectStorm(t *testing.T) {
	n, spread := fleetSize(t)
	checkFDLimit(t, uint64(8*n+256))
	// One subscriber takes the whole fleet's replay: no per-client queue limit.
	b := mqtttest.StartMosquittoWith(t, mqtttest.Options{NoDelay: true, Extra: "max_queued_messages 0\n"})
	p := mqtttest.NewProxy(t, b.Addr())
	rec := mqtttest.Subscribe(t, b.URL(), fleetTopic)
	f := newFleet(t, n, spread, p.URL())
	start := time.Now()
	stop := f.run(t)
	defer stop()
	f.appendAll(t)
	firstUp := f.waitConnected(t, spread+time.Minute)
	var d delivery
	d.wait(t, f, rec, 2*time.Minute)
	first := p.Connects()

	drop := time.Now()
	b.Stop()
	f.appendAll(t)
	time.Sleep(time.Until(drop.Add(fleetDown(t)))) // an outage of a set length, not a wait for a condition
	b.Start()
	up := time.Now()
	f.appendAll(t)
	back := f.waitReconnected(t, p, drop, spread+2*time.Minute)
	d.wait(t, f, rec, 2*time.Minute)
	delivered := time.Now()
	d.checkExact(t, f)

	again := p.Connects()[len(first):]
	peak, peakS := windowPeak(again, drop, fleetWindow), windowPeak(again, drop, time.Second)
	bound, expected := reconnectBound(f.ids, spread, up.Sub(drop), fleetWindow)
	boundS, expectedS := reconnectBound(f.ids, spread, up.Sub(drop), time.Second)
	t.Logf("FLEET gateways=%d spread=%s tickets=%d copies=%d", n, spread, f.tickets(), d.copies)
	t.Logf("FLEET first_connect all_connected=%.2fs peak_100ms=%d peak_1s=%d",
		firstUp.Sub(start).Seconds(), windowPeak(first, start, fleetWindow), windowPeak(first, start, time.Second))
	t.Logf("FLEET restart broker_down=%.2fs all_reconnected=%.2fs (%.2fs after the broker was back) delivered=%.2fs "+
		"peak_100ms=%d peak_1s=%d peak_1s_mosquitto_log=%d failed_attempts=%d",
		up.Sub(drop).Seconds(), back.Sub(drop).Seconds(), back.Sub(up).Seconds(), delivered.Sub(drop).Seconds(),
		peak, peakS, brokerPeak(b.Log(), drop), p.Failed())
	t.Logf("FLEET bound_100ms=%d expected_100ms=%.1f bound_1s=%d expected_1s=%.1f", bound, expected, boundS, expectedS)
	if spread > 0 && peakS > boundS {
		t.Errorf("%d CONNECTs in one second after the restart, above the bound %d "+
			"(at most %.1f expected from the offsets, the jitter and the retries)", peakS, boundS, expectedS)
	}
}

// waitReconnected waits until every link is connected again and the
// broker saw a CONNECT from each after drop.
func (f *fleet) waitReconnected(t *testing.T, p *mqtttest.Proxy, drop time.Time, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		at := f.waitConnected(t, time.Until(deadline))
		since := 0
		for _, c := range p.Connects() {
			if !c.Before(drop) {
				since++
			}
		}
		if since >= len(f.links) {
			return at
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d gateways reconnected after %s", since, len(f.links), timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// reconnectBound is the most CONNECTs a window of w may hold after a
// broker restart that kept the broker down for down. expected is the
// largest expected count in any window, from the fleet's offsets, the
// jitter and the retries of attempts that came too early (expectedPeak);
// about fleet × w / spread when the broker is back within 0.5 s. The
// attempts are independent, so a window holds k or more with probability
// at most e^-m (e·m/k)^k (Chernoff); k is taken where that is 1e-8: over
// the hundred or so windows of a run a false alarm is below one in a
// million. No timing of the machine enters the figure but the down time
// it measured.
func reconnectBound(ids []string, spread, down, w time.Duration) (bound int, expected float64) {
	offs := make([]time.Duration, len(ids))
	for i, id := range ids {
		offs[i] = mqttlink.ConnectDelay(id, spread)
	}
	expected = expectedPeak(offs, spread, down, w)
	return chernoff(expected, 1e-8), expected
}
