package mqttlink_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/sqlite"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// The kill test re-executes this test binary as the "gateway": a child that
// opens the SQLite outbox, runs a link and appends a burst of tickets while
// the parent SIGKILLs it at random moments.
const (
	envKillDB     = "FENGHUO_KILLTEST_DB"
	envKillBroker = "FENGHUO_KILLTEST_BROKER"
	envKillN      = "FENGHUO_KILLTEST_N"
)

func TestMain(m *testing.M) {
	if os.Getenv(envKillDB) != "" {
		os.Exit(killChild())
	}
	goleak.VerifyTestMain(m) // fails the tests if a goroutine outlives them
}

// killChild appends N tickets in small bursts while the link publishes
// them, then waits for the outbox to drain and exits 0.
func killChild() int {
	st, err := sqlite.Open(os.Getenv(envKillDB), sqlite.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: open:", err)
		return 2
	}
	n, _ := strconv.Atoi(os.Getenv(envKillN))
	l, err := mqttlink.New(mqttlink.Options{Broker: os.Getenv(envKillBroker), TopicPrefix: topics.Prefix,
		TownshipCode: township, GatewayID: gateway, Outbox: st, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	for i := 0; i < n; {
		burst := min(1+rand.IntN(3), n-i)
		var recs []outbox.Record
		for range burst {
			level := 2
			if rand.IntN(5) == 0 {
				level = 1
			}
			recs = append(recs, plainRecord(fmt.Sprintf("%d-%d", os.Getpid(), i), level))
			i++
		}
		if _, err := st.Append(ctx, recs...); err != nil {
			fmt.Fprintln(os.Stderr, "child: append:", err)
			return 2
		}
		l.Notify()
	}
	for {
		s, err := st.Stats(ctx)
		if err == nil && s.Depth == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling the outcome, bounded by the parent's timeout
	}
	cancel()
	<-done
	return 0
}

// plainRecord is record() without a *testing.T, for the child.
func plainRecord(id string, level int) outbox.Record {
	v := float64(1)
	ev := rules.Event{Kind: rules.Open, TicketID: "smoke-" + id + "/R1/20261129T001502.000", Device: "smoke-" + id,
		Rule: "R1", Hazard: "smoke_fire_alarm", Level: level, At: time.Now(), OccurrenceCount: 1,
		Evidence: rules.Evidence{Point: "alarm", Value: &v}}
	tk := ticket.FromEvent(ev,
		ticket.HazardMeta{Code: "smoke_fire_alarm", Zh: "烟感火警", En: "Smoke fire alarm", Kind: "alarm", Category: "smoke"},
		ticket.Gateway{ID: gateway, Site: ticket.Site{Name: "云村文化礼堂", Township: "织里镇", TownshipCode: township}},
		ticket.Device{ID: ev.Device, Name: "烟感", Profile: "smoke-detector", Location: "一楼厨房", Bus: "rs485-1", Slave: 1})
	p, err := tk.Marshal()
	if err != nil {
		panic(err)
	}
	prio := outbox.PriorityTicket
	if level == 1 {
		prio = outbox.PriorityLevel1
	}
	return outbox.Record{EventID: tk.EventID, TicketID: tk.TicketID, State: tk.State, Hazard: tk.Hazard, Rule: "R1",
		Device: ev.Device, Level: level, Priority: prio, Payload: p}
}

// TestKillLoop: the gateway is SIGKILLed at random moments during a burst
// (KILLS times), restarted each time, and finally left to finish: every
// committed event reaches the subscriber, no seq is missing, and the
// duplicates (at-least-once) are counted. scripts/soak.sh does ≥ 50 kills
// with the real binary; this is the short version for make test.
func TestKillLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	kills := 5
	if s := os.Getenv("FENGHUO_KILLS"); s != "" {
		kills, _ = strconv.Atoi(s)
	}
	b := mqtttest.StartMosquitto(t)
	tickets := mqtttest.Subscribe(t, b.URL(), topics.Tickets())
	db := filepath.Join(t.TempDir(), "outbox.db")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	run := func(n int) *exec.Cmd {
		cmd := exec.Command(self, "-test.run=^$")
		cmd.Env = append(os.Environ(), envKillDB+"="+db, envKillBroker+"="+b.URL(), envKillN+"="+strconv.Itoa(n))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	killed := 0
	for range kills {
		cmd := run(200)
		// A random moment: the child may be opening the outbox, appending,
		// publishing, or already done.
		time.Sleep(time.Duration(20+rand.IntN(250)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err == nil {
			killed++
		}
		_ = cmd.Wait() // "signal: killed" or a normal exit
	}
	final := run(20)
	waited := make(chan error, 1)
	go func() { waited <- final.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("final run: %v", err)
		}
	case <-time.After(60 * time.Second):
		_ = final.Process.Kill()
		t.Fatal("final run did not drain the outbox within 60 s")
	}
	st, err := sqlite.Open(db, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := st.Stats(context.Background())
	st.Close()
	if err != nil || s.Depth != 0 {
		t.Fatalf("outbox after the final run: %+v %v", s, err)
	}
	committed := s.LastSeq
	msgs := tickets.WaitUntil(fmt.Sprintf("all %d committed seqs", committed), 30*time.Second, func(m []mqtttest.Message) bool {
		return len(seqSet(m)) >= int(committed)
	})
	set := seqSet(msgs)
	for q := uint64(1); q <= committed; q++ {
		if !set[q] {
			t.Fatalf("seq %d committed but never delivered", q)
		}
	}
	ids := map[string]bool{}
	dups := 0
	for _, m := range msgs {
		tk, err := ticket.Parse(m.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if ids[tk.EventID] {
			dups++
		}
		ids[tk.EventID] = true
	}
	if len(ids) != int(committed) {
		t.Fatalf("%d distinct event_ids for %d seqs", len(ids), committed)
	}
	t.Logf("kill loop: %d SIGKILLs, %d events committed, %d delivered, 0 lost, 0 seq gaps, %d duplicates", killed, committed, len(ids), dups)
}

func seqSet(msgs []mqtttest.Message) map[uint64]bool {
	set := map[uint64]bool{}
	for _, m := range msgs {
		if tk, err := ticket.Parse(m.Payload); err == nil {
			set[tk.Seq] = true
		}
	}
	return set
}
