package mqttlink_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/sqlite"
)

// TestWindowKeepsSeqOrder: with many publishes in flight, a backlog still
// arrives in seq order and every record is marked sent once.
func TestWindowKeepsSeqOrder(t *testing.T) {
	b := mqtttest.StartMosquitto(t)
	tickets := mqtttest.Subscribe(t, b.URL(), topics.Tickets())
	ob := outbox.NewMemory()
	const n = 250
	recs := make([]outbox.Record, 0, n)
	for i := 1; i <= n; i++ {
		recs = append(recs, record(t, i, 2))
	}
	if _, err := ob.Append(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
	var published atomic.Int32
	start(t, mqttlink.Options{Broker: b.URL(), Outbox: ob, Window: 32, OnPublished: func(outbox.Record, time.Time) { published.Add(1) }})
	got := decode(t, tickets.WaitUntil(fmt.Sprintf("%d tickets", n), 20*time.Second, distinct(n)))
	for i, tk := range got {
		if tk.Seq != uint64(i+1) {
			t.Fatalf("ticket %d has seq %d: out of order", i, tk.Seq)
		}
	}
	waitUntil(t, "all marked sent", 5*time.Second, func() bool {
		st, err := ob.Stats(context.Background())
		return err == nil && st.Depth == 0 && st.Sent == n && published.Load() == n
	})
}

// BenchmarkDrain measures the drain rate of a backlog (100 000 tickets, or
// FENGHUO_DRAIN_BACKLOG) from the SQLite outbox to a local mosquitto at
// QoS 1 (PUBACK, then MarkSent), by window size and with the broker's
// TCP_NODELAY on or off. make bench / scripts/bench.sh run it; msg/s is the
// number to read.
func BenchmarkDrain(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("FENGHUO_DRAIN_BACKLOG")); err == nil && v > 0 {
		n = v
	}
	t := &testing.T{}
	recs := make([]outbox.Record, 0, n)
	for i := 1; i <= n; i++ {
		recs = append(recs, record(t, i, 2))
	}
	for _, c := range []struct {
		w       int
		nodelay bool
	}{{16, false}, {32, false}, {32, true}, {128, true}} {
		w := c.w
		b.Run(fmt.Sprintf("window=%d/broker_nodelay=%v", c.w, c.nodelay), func(b *testing.B) {
			br := mqtttest.StartMosquittoWith(b, mqtttest.Options{NoDelay: c.nodelay})
			st, err := sqlite.Open(filepath.Join(b.TempDir(), "outbox.db"), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			b.ResetTimer()
			var total int
			var elapsed time.Duration
			for range b.N {
				b.StopTimer()
				if _, err := st.Append(context.Background(), recs...); err != nil {
					b.Fatal(err)
				}
				var published atomic.Int32
				done := make(chan struct{})
				l, err := mqttlink.New(mqttlink.Options{Broker: br.URL(), TopicPrefix: topics.Prefix, TownshipCode: township,
					GatewayID: gateway, Outbox: st, Window: w, OnPublished: func(outbox.Record, time.Time) {
						if published.Add(1) == int32(n) {
							close(done)
						}
					}})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				ran := make(chan error, 1)
				b.StartTimer()
				t0 := time.Now()
				go func() { ran <- l.Run(ctx) }()
				<-done
				elapsed += time.Since(t0)
				total += n
				b.StopTimer()
				cancel()
				<-ran
			}
			b.ReportMetric(float64(total)/elapsed.Seconds(), "msg/s")
		})
	}
}
