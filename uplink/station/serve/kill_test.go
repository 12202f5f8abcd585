package serve_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/station/serve"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

const childEnv = "FENGHUO_SERVE_CHILD"

// runChild is the station service in a child process: broker and database
// from the environment, "READY" on stdout once subscribed, until SIGTERM
// (or the SIGKILL the test sends).
func runChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	err := serve.Run(ctx, serve.Options{Broker: os.Getenv("FENGHUO_BROKER"), DB: os.Getenv("FENGHUO_DB"),
		Listen: "127.0.0.1:0", ClientID: "fenghuo-station-killtest", Log: os.Stderr,
		Ready: func(string) { fmt.Println("READY") }})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// child is one running station process.
type child struct {
	cmd   *exec.Cmd
	ready chan struct{}
}

func startChild(t *testing.T, broker, db string, stderr *os.File) *child {
	t.Helper()
	c := spawnChild(t, broker, db, stderr)
	select {
	case <-c.ready:
	case <-time.After(90 * time.Second): // a deadline, not a measure: a loaded 2-core machine under -race
		t.Fatal("station child not ready within 90 s")
	}
	return c
}

// spawnChild starts a station process without waiting for its READY: a
// restarted station announces READY after its SUBACK, which the broker
// sends behind the backlog queued while it was down (thousands of events
// on a loaded machine); the kill loop proves a restart by the events it
// stores instead.
func spawnChild(t *testing.T, broker, db string, stderr *os.File) *child {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "FENGHUO_BROKER="+broker, "FENGHUO_DB="+db)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, ready: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "READY" {
				close(c.ready)
			}
		}
	}()
	return c
}

// stored counts the events in the station database (read-only, beside
// the writer: WAL).
func stored(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestKillDuringBurst: a station process is SIGKILLed (FENGHUO_KILLS
// times, default 20) while two gateways publish a burst, restarted each
// time, and finally left running: every event is stored exactly once and
// no gap stays open. The broker's persistent session keeps what arrives
// while the station is down; the manual PUBACK after the commit means a
// kill between receipt and commit loses nothing.
func TestKillDuringBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	kills := 20
	if s := os.Getenv("FENGHUO_KILLS"); s != "" {
		kills, _ = strconv.Atoi(s)
	}
	b := mqtttest.StartMosquittoWith(t, mqtttest.Options{Extra: "max_queued_messages 0\n"})
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "station.db")
	errs, err := os.Create(filepath.Join(dir, "child.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer errs.Close()
	c := startChild(t, b.URL(), dbPath, errs)
	ro, err := sql.Open("sqlite3", "file:"+dbPath+"?mode=ro&_busy_timeout=5000")
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
		poll(t, fmt.Sprintf("kill %d: 30 more events stored", k+1), func() bool { return stored(t, ro) >= from+30 })
		if err := c.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = c.cmd.Wait() // killed: the error is the signal
		if int64(stored(t, ro)) < published.Load() {
			midBurst++ // events were waiting in the broker when it died
		}
		c = spawnChild(t, b.URL(), dbPath, errs)
	}
	close(stop)
	if err := <-pubDone; err != nil {
		t.Fatal(err)
	}
	n := int(published.Load())
	poll(t, fmt.Sprintf("all %d events stored", n), func() bool { return stored(t, ro) >= n })
	verifyOnce(t, ro, n)
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("station child after SIGTERM: %v", err)
	}
	var dups int
	if err := ro.QueryRow(`SELECT coalesce(sum(n), 0) FROM counters WHERE name = 'duplicates'`).Scan(&dups); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d kills (%d with events still in flight), %d events published, %d stored once each, %d redeliveries deduplicated", kills, midBurst, n, n, dups)
}

// verifyOnce checks every event is stored once and every seq of both
// gateways is there, with no gap open.
func verifyOnce(t *testing.T, ro *sql.DB, n int) {
	t.Helper()
	var rows, distinct, gaps, maxA, maxB int
	err := ro.QueryRow(`SELECT count(*), count(DISTINCT event_id),
		(SELECT count(*) FROM gaps WHERE closed_ms IS NULL),
		(SELECT coalesce(max(seq), 0) FROM events WHERE gateway = 'gw-kill-a'),
		(SELECT coalesce(max(seq), 0) FROM events WHERE gateway = 'gw-kill-b') FROM events`).Scan(&rows, &distinct, &gaps, &maxA, &maxB)
	if err != nil {
		t.Fatal(err)
	}
	if rows != n || distinct != n || gaps != 0 || maxA+maxB != n {
		t.Fatalf("stored %d rows, %d distinct event ids, %d open gaps, max seqs %d+%d; want %d, %d, 0, sum %d", rows, distinct, gaps, maxA, maxB, n, n, n)
	}
}

// burst publishes tickets of two gateways alternately, one each ms, until
// stop is closed, each PUBACKed by the broker before it counts.
func burst(url string, stop chan struct{}, published *atomic.Int64) error {
	c, err := connectPublisher(url)
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
		gw := []string{"gw-kill-a", "gw-kill-b"}[i%2]
		seq[gw]++
		tk := event(gw, seq[gw], rules.Open, fmt.Sprintf("20261205T08%04d.000", seq[gw]%10000), 1+int(seq[gw]%4))
		p, err := tk.Marshal()
		if err != nil {
			return err
		}
		topic := ticket.Topics{Prefix: "fenghuo/v1", Township: township, Gateway: gw}.Tickets()
		if tok := c.Publish(topic, 1, false, p); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			return fmt.Errorf("publish %s seq %d: %v", gw, seq[gw], tok.Error())
		}
		published.Add(1)
		time.Sleep(2 * time.Millisecond) // pacing the burst (≈ 500/s), not waiting for a condition
	}
}
