package scaletest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/station/serve"
	"github.com/fenghuo-iot/fenghuo/uplink/station/store/pgtest"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// TestLoad prints load figures (numbers, not assertions) when
// FENGHUO_STATION_LOAD=1 (scripts/station-load.sh): FENGHUO_LOAD_GATEWAYS
// simulated gateways (default 500), each with its own MQTT connection and
// a retained status heartbeat every 30 s, and alarms at
// FENGHUO_LOAD_RATE per second (default 20) over random gateways for
// FENGHUO_LOAD_SECONDS (default 40), into one `station serve` on SQLite,
// then two on PostgreSQL behind a shared subscription. Reported: the
// instances' CPU and RSS, PostgreSQL's CPU, and the latency from a
// gateway's publish to the order listed by GET /api/orders (polled every
// 100 ms by one client, which is part of the load).
func TestLoad(t *testing.T) {
	if os.Getenv("FENGHUO_STATION_LOAD") != "1" {
		t.Skip("load figures: FENGHUO_STATION_LOAD=1 (scripts/station-load.sh)")
	}
	cfg := loadConfig{gateways: envInt("FENGHUO_LOAD_GATEWAYS", 500), rate: envInt("FENGHUO_LOAD_RATE", 20),
		seconds: envInt("FENGHUO_LOAD_SECONDS", 40)}
	t.Run("sqlite", func(t *testing.T) { runLoad(t, cfg, 1) })
	t.Run("postgres-2", func(t *testing.T) { runLoad(t, cfg, 2) })
}

type loadConfig struct{ gateways, rate, seconds int }

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// runLoad starts the broker, the database and n instances, runs the fleet
// and reports.
func runLoad(t *testing.T, cfg loadConfig, n int) {
	b := mqtttest.StartMosquittoWith(t, mqtttest.Options{Extra: "max_queued_messages 0\n"})
	dir := t.TempDir()
	db, share := filepath.Join(dir, "station.db"), ""
	var pg *pgtest.Server
	if n > 1 {
		pg = pgtest.Start(t, pgtest.Config{Durable: true})
		db, share = pg.NewDatabase(t), "load"
	}
	ctx := context.Background()
	if err := serve.AddUser(ctx, db, "load", "load-password-1"); err != nil {
		t.Fatal(err)
	}
	token, err := serve.NewToken(ctx, db, "load")
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "instances.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	var insts []*instance
	for i := range n {
		insts = append(insts, start(t, spec{broker: b.URL(), db: db, share: share, clientID: fmt.Sprintf("station-load-%d", i), log: logf}))
	}
	fleet := connectFleet(t, b.URL(), cfg.gateways)
	before := sample(insts, pg)
	published, seen := runFleet(t, fleet, cfg, "http://"+insts[0].addr, token)
	after := sample(insts, pg)
	for _, in := range insts {
		in.stop(t)
	}
	report(t, cfg, n, published, seen, before, after)
}

// simGateway is one simulated gateway with its own connection.
type simGateway struct {
	id  string
	c   paho.Client
	seq uint64
}

func connectFleet(t *testing.T, url string, n int) []*simGateway {
	fleet := make([]*simGateway, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	next := make(chan int)
	for range 20 {
		wg.Go(func() {
			for i := range next {
				id := fmt.Sprintf("gw-load-%04d", i)
				c, err := connectPublisher(url, id)
				mu.Lock()
				fleet[i] = &simGateway{id: id, c: c}
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	t.Cleanup(func() {
		for _, g := range fleet {
			if g.c != nil {
				g.c.Disconnect(50)
			}
		}
	})
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	return fleet
}

// runFleet publishes heartbeats (one gateway every 30 s / n, round
// robin) and alarms (rate per second, random gateways) for the configured
// time while one client polls the open orders; it returns when every
// alarm's order was seen or 60 s after the last alarm.
func runFleet(t *testing.T, fleet []*simGateway, cfg loadConfig, api, token string) (published, seen map[string]time.Time) {
	published, seen = map[string]time.Time{}, map[string]time.Time{}
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { heartbeats(t, fleet, stop) })
	wg.Go(func() { observe(t, api, token, stop, &mu, seen) })
	tick := time.NewTicker(time.Second / time.Duration(cfg.rate))
	for end := time.Now().Add(time.Duration(cfg.seconds) * time.Second); time.Now().Before(end); <-tick.C {
		g := fleet[rand.IntN(len(fleet))]
		g.seq++
		tk := event(g.id, g.seq, 1+rand.IntN(4))
		p, err := tk.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		published[tk.TicketID] = time.Now()
		mu.Unlock()
		topic := ticket.Topics{Prefix: "fenghuo/v1", Township: township, Gateway: g.id}.Tickets()
		if tok := g.c.Publish(topic, 1, false, p); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Errorf("publish %s: %v", tk.TicketID, tok.Error())
		}
	}
	tick.Stop()
	drain := time.Now().Add(60 * time.Second) // a deadline, not a measure
	for {
		mu.Lock()
		done := len(seen) >= len(published)
		mu.Unlock()
		if done || time.Now().After(drain) {
			break
		}
		time.Sleep(100 * time.Millisecond) // poll interval
	}
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return published, copyMap(seen)
}

func copyMap(m map[string]time.Time) map[string]time.Time {
	out := make(map[string]time.Time, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// heartbeats publishes a retained status of one gateway every 30 s/n.
func heartbeats(t *testing.T, fleet []*simGateway, stop chan struct{}) {
	tick := time.NewTicker(30 * time.Second / time.Duration(len(fleet)))
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		g := fleet[i%len(fleet)]
		now := ticket.FormatTime(time.Now())
		p, err := ticket.Status{Schema: ticket.StatusSchema, Gateway: g.id, State: "online", Version: "0.3.0",
			StartedAt: now, At: now}.Marshal()
		if err != nil {
			t.Error(err)
			return
		}
		topic := ticket.Topics{Prefix: "fenghuo/v1", Township: township, Gateway: g.id}.Status()
		if tok := g.c.Publish(topic, 1, true, p); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Errorf("status %s: %v", g.id, tok.Error())
		}
	}
}

// observe lists the open orders every 100 ms and notes when each
// ticket_id first appears.
func observe(t *testing.T, api, token string, stop chan struct{}, mu *sync.Mutex, seen map[string]time.Time) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	hc := &http.Client{Timeout: 10 * time.Second}
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		req, err := http.NewRequest(http.MethodGet, api+"/api/orders", nil)
		if err != nil {
			t.Error(err)
			return
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		var body struct {
			Orders []struct {
				TicketID string `json:"ticket_id"`
			} `json:"orders"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil {
			t.Errorf("GET /api/orders: %v", err)
			return
		}
		now := time.Now()
		mu.Lock()
		for _, o := range body.Orders {
			if _, ok := seen[o.TicketID]; !ok {
				seen[o.TicketID] = now
			}
		}
		mu.Unlock()
	}
}

// usage is a process's CPU ticks and memory at one instant.
type usage struct {
	at       time.Time
	ticks    []int64 // per instance
	rss, hwm []int64 // kB per instance
	pgTicks  int64
}

func sample(insts []*instance, pg *pgtest.Server) usage {
	u := usage{at: time.Now()}
	for _, in := range insts {
		u.ticks = append(u.ticks, cpuTicks(in.cmd.Process.Pid, false))
		rss, hwm := memory(in.cmd.Process.Pid)
		u.rss, u.hwm = append(u.rss, rss), append(u.hwm, hwm)
	}
	if pg != nil {
		u.pgTicks = familyTicks(pg.PID())
	}
	return u
}

func report(t *testing.T, cfg loadConfig, n int, published, seen map[string]time.Time, before, after usage) {
	var lat []time.Duration
	for id, t0 := range published {
		if t1, ok := seen[id]; ok {
			lat = append(lat, t1.Sub(t0))
		}
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))].Round(time.Millisecond)
	}
	wall := after.at.Sub(before.at).Seconds()
	line := fmt.Sprintf("LOAD instances=%d gateways=%d alarms=%d/s for %ds: %d alarms, %d orders seen; publish→order p50 %v p99 %v max %v",
		n, cfg.gateways, cfg.rate, cfg.seconds, len(published), len(seen), q(0.50), q(0.99), q(1))
	for i := range after.ticks {
		line += fmt.Sprintf("; instance %d CPU %.1f%% of a core, RSS %d MB (peak %d MB)", i+1,
			float64(after.ticks[i]-before.ticks[i])/ticksPerSecond/wall*100, after.rss[i]/1024, after.hwm[i]/1024)
	}
	if after.pgTicks > 0 {
		line += fmt.Sprintf("; PostgreSQL CPU %.1f%% of a core", float64(after.pgTicks-before.pgTicks)/ticksPerSecond/wall*100)
	}
	t.Log(line)
	fmt.Println(line)
	if len(seen) < len(published) {
		t.Errorf("%d of %d alarms never listed as an order", len(published)-len(seen), len(published))
	}
}
