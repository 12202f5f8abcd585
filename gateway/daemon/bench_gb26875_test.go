package daemon

import (
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875/centre"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875/link"
	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// BenchmarkAlarmToBothUplinks measures, with a simulated smoke detector, a
// real mosquitto and the reference centre over TCP, the time from a
// register change (the fire-alarm bit set, then cleared) to the MQTT
// PUBACK of its ticket (mqtt_p50_ms, mqtt_p99_ms) and to the centre's
// confirm of its frame (centre_p50_ms, centre_p99_ms), each change at a
// random moment of the poll cycle (POLL, 1 s by default). Numbers, not
// assertions: docs/gb26875.md reports them.
//
//	go test -run '^$' -bench AlarmToBothUplinks -benchtime 50x ./gateway/daemon/
func BenchmarkAlarmToBothUplinks(b *testing.B) {
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
	centreAddr := startCentreTB(b, centre.Options{})

	var mu sync.Mutex
	acked := map[uint64]time.Time{}     // seq → MQTT PUBACK
	confirmed := map[uint64]time.Time{} // seq → the centre's confirm
	wake := make(chan struct{}, 1)
	note := func(m map[uint64]time.Time, r outbox.Record, at time.Time) {
		mu.Lock()
		m[r.Seq] = at
		mu.Unlock()
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	cfg := gbConfig(addr, broker.URL(), centreAddr, filepath.Join(b.TempDir(), "outbox.db"))
	cfg = replaceOnce(cfg, "profile: smoke-485-basic", "profile: smoke-detector")
	cfg = replaceOnce(cfg, "poll: 200ms", "poll: "+poll.String())
	d, _ := runDaemon(b, cfg, Options{
		tuneLink: func(o *mqttlink.Options) { o.OnPublished = func(r outbox.Record, at time.Time) { note(acked, r, at) } },
		tuneGB:   func(o *link.Options) { o.OnDelivered = func(r outbox.Record, at time.Time) { note(confirmed, r, at) } },
	})
	waitPolls(b, d, 2)

	var toMQTT, toCentre []time.Duration
	seq := uint64(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, on := range []bool{true, false} {
			time.Sleep(rand.N(poll)) // a random phase of the poll cycle: the behaviour measured, not a wait
			seq++
			at := time.Now()
			if err := dev.SetBit("status", 1, on); err != nil {
				b.Fatal(err)
			}
			m, c := waitBoth(b, &mu, wake, acked, confirmed, seq)
			toMQTT = append(toMQTT, m.Sub(at))
			toCentre = append(toCentre, c.Sub(at))
		}
	}
	b.StopTimer()
	b.ReportMetric(ms(percentile(toMQTT, 50)), "mqtt_p50_ms")
	b.ReportMetric(ms(percentile(toMQTT, 99)), "mqtt_p99_ms")
	b.ReportMetric(ms(percentile(toCentre, 50)), "centre_p50_ms")
	b.ReportMetric(ms(percentile(toCentre, 99)), "centre_p99_ms")
	b.ReportMetric(float64(len(toMQTT)), "changes")
}

// waitBoth waits (30 s at most) until seq was acknowledged on both uplinks.
func waitBoth(b *testing.B, mu *sync.Mutex, wake <-chan struct{}, acked, confirmed map[uint64]time.Time, seq uint64) (time.Time, time.Time) {
	deadline := time.After(30 * time.Second)
	for {
		mu.Lock()
		m, okM := acked[seq]
		c, okC := confirmed[seq]
		mu.Unlock()
		if okM && okC {
			return m, c
		}
		select {
		case <-wake:
		case <-deadline:
			b.Fatalf("seq %d: mqtt %v centre %v after 30 s", seq, okM, okC)
		}
	}
}

// waitPolls waits (10 s at most) for the first device's n polls.
func waitPolls(b *testing.B, d *Daemon, n uint64) {
	for deadline := time.Now().Add(10 * time.Second); ; {
		if devs, _ := d.views.Devices(b.Context()); devs.Devices[0].PollsOK >= n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("no %d polls within 10 s", n)
		}
		time.Sleep(10 * time.Millisecond) // poll interval of this wait
	}
}
