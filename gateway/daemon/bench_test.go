package daemon

import (
	"fmt"
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
// mosquitto, the time from the fire-alarm bit being set in the device to
// the open ticket arriving at a subscriber (alarm_ms), and the part of it
// that is the gateway's own pipeline: outbox commit → publish → PUBACK →
// delivery (pipeline_ms). The rest is R1's 2-read confirmation at the
// configured poll interval (POLL, 1 s by default as in DESIGN.md §8.1).
//
//	go test -run '^$' -bench AlarmToTicket -benchtime 10x ./gateway/daemon/
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
	broker := mqtttest.StartMosquitto(b)
	tickets := mqtttest.Subscribe(b, broker.URL(), "fenghuo/v1/+/+/tickets")

	var mu sync.Mutex
	committed := map[string]time.Time{} // event id → commit time
	cfg := fmt.Sprintf(testConfig, addr, broker.URL(), filepath.Join(b.TempDir(), "outbox.db"))
	cfg = replaceOnce(cfg, "profile: smoke-485-basic", "profile: smoke-detector")
	cfg = replaceOnce(cfg, "poll: 200ms", "poll: "+poll.String())
	startDaemon(b, cfg, func(r outbox.Record) {
		mu.Lock()
		committed[r.EventID] = time.Now()
		mu.Unlock()
	})
	time.Sleep(2 * poll) // first polls

	var alarm, pipeline []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, on := range []bool{true, false} {
			n := len(tickets.Messages()) + 1
			at := time.Now()
			if err := dev.SetBit("status", 1, on); err != nil {
				b.Fatal(err)
			}
			msgs := tickets.WaitFor(n, 30*time.Second)
			got := time.Now()
			tk := decodeNoSchema(b, msgs[n-1].Payload)
			mu.Lock()
			c := committed[tk.EventID]
			mu.Unlock()
			if on {
				alarm = append(alarm, got.Sub(at))
				pipeline = append(pipeline, got.Sub(c))
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(ms(median(alarm)), "alarm_ms")
	b.ReportMetric(ms(median(pipeline)), "pipeline_ms")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
