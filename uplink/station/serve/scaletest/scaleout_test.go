package scaletest_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // reading the station's database

	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/station/store/pgtest"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// TestScaleOutKill: two station instances share one subscription
// ($share/scale/…, each with its own persistent session) and one
// PostgreSQL database while two gateways publish a burst. Instance A is
// SIGKILLed mid-burst FENGHUO_SCALE_KILLS times (default 3) and restarted
// each time with the same client id: the broker keeps the messages in
// flight to A in A's session, and hands them over when A is back (an
// instance that never comes back strands them, see docs/station.md).
// Instance B keeps writing throughout. Every event is stored exactly
// once, and the seq tracking of the two writers leaves no gap open.
func TestScaleOutKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	kills := 3
	if s := os.Getenv("FENGHUO_SCALE_KILLS"); s != "" {
		kills, _ = strconv.Atoi(s)
	}
	pg := pgtest.Start(t, pgtest.Config{})
	url := pg.NewDatabase(t)
	b := mqtttest.StartMosquittoWith(t, mqtttest.Options{Extra: "max_queued_messages 0\n"})
	errs, err := os.Create(filepath.Join(t.TempDir(), "instances.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer errs.Close()
	t.Cleanup(func() {
		if t.Failed() {
			l, _ := os.ReadFile(errs.Name())
			t.Logf("instances:\n%s", l)
		}
	})
	sa := spec{broker: b.URL(), db: url, share: "scale", clientID: "station-a", log: errs}
	sb := sa
	sb.clientID = "station-b"
	a, bi := start(t, sa), start(t, sb)
	ro, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()

	stop := make(chan struct{})
	var published atomic.Int64
	pubDone := make(chan error, 1)
	go func() { pubDone <- burst(b.URL(), stop, &published) }()
	midBurst := 0
	for k := range kills {
		from := stored(t, ro)
		poll(t, fmt.Sprintf("kill %d: 40 more events stored", k+1), func() bool { return stored(t, ro) >= from+40 })
		a.kill(t)
		if int64(stored(t, ro)) < published.Load() {
			midBurst++ // events were waiting in the broker or in flight when A died
		}
		a = start(t, sa)
	}
	close(stop)
	if err := <-pubDone; err != nil {
		t.Fatal(err)
	}
	n := int(published.Load())
	poll(t, fmt.Sprintf("all %d events stored", n), func() bool { return stored(t, ro) >= n })
	verifyOnce(t, ro, n)
	a.stop(t)
	bi.stop(t)
	var dups int64
	if err := ro.QueryRow(`SELECT coalesce(sum(n), 0) FROM counters WHERE name = 'duplicates'`).Scan(&dups); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d kills of instance A (%d with events not yet stored), %d events published, %d stored once each, %d redeliveries deduplicated", kills, midBurst, n, n, dups)
}

func stored(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// verifyOnce checks every event is stored once and every seq of both
// gateways is there, with no gap open.
func verifyOnce(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	var rows, distinct, gaps, maxA, maxB, gwRows int
	err := db.QueryRow(`SELECT count(*), count(DISTINCT event_id),
		(SELECT count(*) FROM gaps WHERE closed_ms IS NULL),
		(SELECT coalesce(max(seq), 0) FROM events WHERE gateway = 'gw-scale-a'),
		(SELECT coalesce(max(seq), 0) FROM events WHERE gateway = 'gw-scale-b'),
		(SELECT coalesce(sum(events), 0) FROM gateways) FROM events`).Scan(&rows, &distinct, &gaps, &maxA, &maxB, &gwRows)
	if err != nil {
		t.Fatal(err)
	}
	if rows != n || distinct != n || gaps != 0 || maxA+maxB != n || gwRows != n {
		t.Fatalf("stored %d rows, %d distinct event ids, %d open gaps, max seqs %d+%d, gateway counters %d; want %d, %d, 0, sum %d, %d",
			rows, distinct, gaps, maxA, maxB, gwRows, n, n, n, n)
	}
}

// burst publishes tickets of two gateways alternately, about 1000/s,
// until stop is closed, each PUBACKed by the broker before it counts.
func burst(url string, stop chan struct{}, published *atomic.Int64) error {
	c, err := connectPublisher(url, "burst")
	if err != nil {
		return err
	}
	defer c.Disconnect(100)
	seq := map[string]uint64{}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return nil
		default:
		}
		gw := []string{"gw-scale-a", "gw-scale-b"}[i%2]
		seq[gw]++
		p, err := event(gw, seq[gw], 1+int(seq[gw]%4)).Marshal()
		if err != nil {
			return err
		}
		topic := ticket.Topics{Prefix: "fenghuo/v1", Township: township, Gateway: gw}.Tickets()
		if tok := c.Publish(topic, 1, false, p); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			return fmt.Errorf("publish %s seq %d: %v", gw, seq[gw], tok.Error())
		}
		published.Add(1)
		time.Sleep(time.Millisecond) // pacing the burst (≈ 1000/s), not waiting for a condition
	}
}
