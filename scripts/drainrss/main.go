// Command drainrss is the child process of scripts/rss.sh: it fills a
// SQLite outbox with a backlog of tickets, or drains one to an MQTT broker
// at QoS 1 with the gateway's own link, so the script can sample the
// drain's memory (VmHWM) from /proc without a test harness in the process.
//
//	drainrss fill  -db /tmp/outbox.db -n 1000000
//	drainrss drain -db /tmp/outbox.db -broker tcp://127.0.0.1:1883
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/sqlite"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

const (
	township = "330502103"
	gateway  = "gw-330502103-rss"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	db := fs.String("db", "", "outbox database file")
	n := fs.Int("n", 1_000_000, "fill: tickets to append")
	broker := fs.String("broker", "", "drain: broker URL")
	window := fs.Int("window", 0, "drain: in-flight window (0: the link's default)")
	_ = fs.Parse(os.Args[2:])
	if *db == "" {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "fill":
		err = fill(*db, *n)
	case "drain":
		err = drain(*db, *broker, *window)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "drainrss:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: drainrss fill -db FILE [-n N] | drainrss drain -db FILE -broker URL [-window W]")
	os.Exit(2)
}

// fill appends n level-2 tickets, 10 000 per transaction.
func fill(path string, n int) error {
	st, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	const chunk = 10_000
	recs := make([]outbox.Record, 0, chunk)
	for i := 1; i <= n; i++ {
		r, err := record(i)
		if err != nil {
			return err
		}
		recs = append(recs, r)
		if len(recs) == chunk || i == n {
			if _, err := st.Append(context.Background(), recs...); err != nil {
				return fmt.Errorf("append at ticket %d: %w", i, err)
			}
			recs = recs[:0]
		}
	}
	fmt.Printf("filled %d tickets in %s\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}

func record(i int) (outbox.Record, error) {
	v := 1.0
	dev := "smoke-" + strconv.Itoa(i%64+1)
	ev := rules.Event{Kind: rules.Open, TicketID: fmt.Sprintf("%s/R1/%d", dev, i), Device: dev,
		Rule: "R1", Hazard: "smoke_fire_alarm", Level: 2, At: time.Now(), OccurrenceCount: 1,
		Evidence: rules.Evidence{Point: "alarm", Value: &v}}
	tk := ticket.FromEvent(ev,
		ticket.HazardMeta{Code: "smoke_fire_alarm", Zh: "烟感火警", En: "Smoke fire alarm", Kind: "alarm", Category: "smoke"},
		ticket.Gateway{ID: gateway, Site: ticket.Site{Name: "云村文化礼堂", Township: "织里镇", TownshipCode: township}},
		ticket.Device{ID: dev, Name: "烟感", Profile: "smoke-detector", Location: "一楼厨房", Bus: "rs485-1", Slave: i%64 + 1})
	p, err := tk.Marshal()
	if err != nil {
		return outbox.Record{}, err
	}
	return outbox.Record{EventID: tk.EventID, TicketID: tk.TicketID, State: tk.State, Hazard: tk.Hazard, Rule: "R1",
		Device: dev, Level: 2, Priority: outbox.PriorityTicket, Payload: p}, nil
}

// drain publishes the whole backlog and reports the rate and peak RSS.
func drain(path, broker string, window int) error {
	if broker == "" {
		return errors.New("drain needs -broker")
	}
	st, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	s, err := st.Stats(context.Background())
	if err != nil {
		return err
	}
	backlog := s.Depth
	var published atomic.Int64
	done := make(chan struct{})
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	l, err := mqttlink.New(mqttlink.Options{Broker: broker, TownshipCode: township, GatewayID: gateway, Outbox: st, Window: window, Logger: log,
		OnPublished: func(outbox.Record, time.Time) {
			if published.Add(1) == int64(backlog) {
				close(done)
			}
		}})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	start := time.Now()
	go func() { ran <- l.Run(ctx) }()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
wait:
	for {
		select {
		case <-done:
			break wait
		case <-tick.C:
			fmt.Printf("  %d/%d published, %s\n", published.Load(), backlog, hwm())
		}
	}
	elapsed := time.Since(start)
	cancel()
	if err := <-ran; err != nil {
		return err
	}
	fmt.Printf("drained %d tickets in %s: %.0f msg/s; %s\n", backlog, elapsed.Round(time.Millisecond),
		float64(backlog)/elapsed.Seconds(), hwm())
	return nil
}

// hwm is this process's peak and current RSS from /proc/self/status.
func hwm() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "rss unknown"
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") || strings.HasPrefix(line, "VmRSS:") {
			out = append(out, strings.Join(strings.Fields(line), " "))
		}
	}
	return strings.Join(out, ", ")
}
