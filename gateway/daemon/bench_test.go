package daemon

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// BenchmarkAlarmToTicket measures, with a simulated smoke detector and a real
// mosquitto, the time from a register change in the device (the fire-alarm
// bit set, then cleared) to its ticket (open, then clear) arriving at a
// subscriber, and the part of it that is the gateway's own pipeline: outbox
// commit → publish → PUBACK → delivery. Each iteration is two changes; each
// change is made at a random moment of the poll cycle, so the numbers cover
// every phase. Reported: change_p50_ms, change_p99_ms, pipeline_p50_ms,
// pipeline_p99_ms. A change needs R1's 2-read confirmation; the second read
// is a confirmation read made as soon as the first saw the change, so a
// change takes up to one poll interval (POLL, 1 s by default as in
// DESIGN.md §8.1) plus a read plus the pipeline.
//
//	FENGHUO_BENCH_POLL=500ms go test -run '^$' -bench AlarmToTicket -benchtime 100x ./gateway/daemon/
func BenchmarkAlarmToTicket(b *testing.B) {
	poll := time.Second
	if s := testingPoll(); s > 0 {
		poll = s
	}
	profiles, err := profile.Load("")
	if err != nil {
		b.Fatal(err)
	}
	p, _ := profiles.Get("smoke-detector")
	srv := sim.NewServer()
	dev := srv.AddDevice(1, p)
	addr, err := srv.ListenTCP("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	// FENGHUO_BENCH_NODELAY=1: mosquitto with set_tcp_nodelay, as
	// docs/operations.md recommends (Nagle can hold a PUBACK or a delivery
	// until the peer's delayed ACK).
	broker := mqtttest.StartMosquittoWith(b, mqtttest.Options{NoDelay: os.Getenv("FENGHUO_BENCH_NODELAY") == "1"})
	tickets := mqtttest.Subscribe(b, broker.URL(), "fenghuo/v1/+/+/tickets")

	var mu sync.Mutex
	committed := map[string]time.Time{} // event id → commit time
	cfg := fmt.Sprintf(testConfig, addr, broker.URL(), filepath.Join(b.TempDir(), "outbox.db"))
	cfg = replaceOnce(cfg, "profile: smoke-485-basic", "profile: smoke-detector")
	cfg = replaceOnce(cfg, "poll: 200ms", "poll: "+poll.String())
	d, _ := runDaemon(b, cfg, Options{OnCommitted: func(r outbox.Record) {
		mu.Lock()
		committed[r.EventID] = time.Now()
		mu.Unlock()
	}})
	for deadline := time.Now().Add(10 * time.Second); ; {
		if devs, _ := d.views.Devices(b.Context()); devs.Devices[0].PollsOK >= 2 {
			break // the first polls
		}
		if time.Now().After(deadline) {
			b.Fatal("no two polls within 10 s")
		}
		time.Sleep(10 * time.Millisecond) // poll interval of this wait
	}

	var change, pipeline []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, on := range []bool{true, false} {
			time.Sleep(rand.N(poll)) // a random phase of the poll cycle: the behaviour measured, not a wait
			n := len(tickets.Messages()) + 1
			at := time.Now()
			if err := dev.SetBit("status", 1, on); err != nil {
				b.Fatal(err)
			}
			msgs := tickets.WaitFor(n, 30*time.Second)
			got := time.Now()
			tk := decodeNoSchema(b, msgs[n-1].Payload)
			if want := map[bool]string{true: "open", false: "clear"}[on]; tk.State != want {
				b.Fatalf("change %d: ticket state %q, want %q", len(change)+1, tk.State, want)
			}
			mu.Lock()
			c := committed[tk.EventID]
			mu.Unlock()
			change = append(change, got.Sub(at))
			pipeline = append(pipeline, got.Sub(c))
		}
	}
	b.StopTimer()
	b.ReportMetric(ms(percentile(change, 50)), "change_p50_ms")
	b.ReportMetric(ms(percentile(change, 99)), "change_p99_ms")
	b.ReportMetric(ms(percentile(pipeline, 50)), "pipeline_p50_ms")
	b.ReportMetric(ms(percentile(pipeline, 99)), "pipeline_p99_ms")
	b.ReportMetric(float64(len(change)), "changes")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile is the nearest-rank p-th percentile of ds (0 when empty).
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := (p*len(s) + 99) / 100 // ceil(p/100 · n)
	return s[max(rank, 1)-1]
}
