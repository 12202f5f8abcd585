package scaletest_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/station/serve"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

const (
	childEnv = "FENGHUO_SCALE_CHILD"
	township = "330502103"
)

// runChild is one station instance: broker, database, client id and
// share group from the environment; "READY <api address>" on stdout once
// subscribed; until SIGTERM (or the SIGKILL a test sends).
func runChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	err := serve.Run(ctx, serve.Options{Broker: os.Getenv("FENGHUO_BROKER"), DB: os.Getenv("FENGHUO_DB"),
		Share: os.Getenv("FENGHUO_SHARE"), ClientID: os.Getenv("FENGHUO_CLIENT_ID"), Listen: "127.0.0.1:0", Log: os.Stderr,
		Ready: func(addr string) { fmt.Println("READY " + addr) }})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// instance is one running station process.
type instance struct {
	cmd  *exec.Cmd
	addr string // the API's host:port
}

// spec says how to start an instance.
type spec struct {
	broker, db, share, clientID string
	log                         *os.File
}

func start(t *testing.T, s spec) *instance {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "FENGHUO_BROKER="+s.broker, "FENGHUO_DB="+s.db,
		"FENGHUO_SHARE="+s.share, "FENGHUO_CLIENT_ID="+s.clientID)
	cmd.Stderr = s.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // no orphan if the test is killed
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				ready <- a
			}
		}
	}()
	select {
	case a := <-ready:
		return &instance{cmd: cmd, addr: a}
	case <-time.After(90 * time.Second): // a deadline, not a measure: a loaded 2-core machine under -race
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("station %s not ready within 90 s", s.clientID)
		return nil
	}
}

// kill sends SIGKILL and reaps the process.
func (in *instance) kill(t *testing.T) {
	t.Helper()
	if err := in.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = in.cmd.Wait() // killed: the error is the signal
}

// stop sends SIGTERM and waits for a clean exit.
func (in *instance) stop(t *testing.T) {
	t.Helper()
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := in.cmd.Wait(); err != nil {
		t.Errorf("station instance after SIGTERM: %v", err)
	}
}

// event is a schema-valid open ticket event of gateway gw.
func event(gw string, seq uint64, level int) ticket.Ticket {
	v := 1.0
	ev := rules.Event{Kind: rules.Open, TicketID: fmt.Sprintf("smoke-1/R1/20261205T%06d.000", seq%1_000_000), Device: "smoke-1", Rule: "R1",
		Hazard: "smoke_fire_alarm", Level: level, At: time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC), OccurrenceCount: 1,
		Evidence: rules.Evidence{Point: "alarm", Value: &v}, After: rules.ConditionAlarm}
	tk := ticket.FromEvent(ev,
		ticket.HazardMeta{Code: "smoke_fire_alarm", Zh: "烟感火警", En: "Smoke fire alarm", Kind: "alarm", Category: "smoke"},
		ticket.Gateway{ID: gw, Site: ticket.Site{Name: "云村文化礼堂", Township: "织里镇", TownshipCode: township}},
		ticket.Device{ID: "smoke-1", Name: "一楼厨房烟感", Profile: "smoke-detector", Location: "一楼厨房", Bus: "rs485-1", Slave: 1})
	tk.Seq = seq
	tk.PublishedAt = ticket.FormatTime(time.Now())
	return tk
}

// connectPublisher connects a paho client that publishes at QoS 1.
func connectPublisher(url, id string) (paho.Client, error) {
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(id).SetAutoReconnect(false).
		SetConnectTimeout(10 * time.Second))
	if tok := c.Connect(); !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("publisher %s: connect %s: %v", id, url, tok.Error())
	}
	return c, nil
}

// poll waits for cond, checking every 20 ms, failing after 120 s.
func poll(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(120 * time.Second) // a deadline, not a measure
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond) // poll interval
	}
}
