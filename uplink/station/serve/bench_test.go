package serve_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/station/serve"
)

// BenchmarkServeIngest measures events/s from a publisher through a real
// mosquitto into the service's SQLite store (committed before the PUBACK
// to the broker): b.N ticket events of 10 gateways, published with up to
// 200 QoS 1 messages in flight; with mosquitto's default in-flight window
// (20) and a larger one (200).
func BenchmarkServeIngest(b *testing.B) {
	for _, inflight := range []int{20, 200} {
		b.Run(fmt.Sprintf("max_inflight=%d", inflight), func(b *testing.B) { benchServeIngest(b, inflight) })
	}
}

// benchServeIngest runs against a mosquitto that sends up to inflight
// unacknowledged messages to the service (20 is mosquitto's default; one
// commit covers at most that many).
func benchServeIngest(b *testing.B, inflight int) {
	extra := fmt.Sprintf("max_queued_messages 0\nmax_inflight_messages %d\n", inflight)
	br := mqtttest.StartMosquittoWith(b, mqtttest.Options{NoDelay: true, Extra: extra})
	db := filepath.Join(b.TempDir(), "station.db")
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- serve.Run(ctx, serve.Options{Broker: br.URL(), DB: db, Listen: "127.0.0.1:0", Ready: func(string) { close(ready) }})
	}()
	defer func() { cancel(); <-done }()
	<-ready
	pub, err := connectPublisher(br.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Disconnect(100)
	payloads := make([][]byte, b.N)
	for i := range payloads {
		gw := fmt.Sprintf("gw-bench-%02d", i%10)
		seq := uint64(i/10 + 1)
		payloads[i] = payload(b, event(gw, seq, rules.Open, fmt.Sprintf("20261205T%06d.000", seq%1000000), 1+i%4))
	}
	ro, err := sql.Open("sqlite3", "file:"+db+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		b.Fatal(err)
	}
	defer ro.Close()
	b.ResetTimer()
	window := make(chan paho.Token, 200)
	for i, p := range payloads {
		gw := fmt.Sprintf("gw-bench-%02d", i%10)
		if len(window) == cap(window) {
			(<-window).Wait()
		}
		window <- pub.Publish("fenghuo/v1/"+township+"/"+gw+"/tickets", 1, false, p)
	}
	for n := 0; n < b.N; {
		if err := ro.QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil {
			b.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond) // polling the outcome
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
