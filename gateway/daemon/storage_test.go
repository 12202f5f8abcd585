package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbustest"
	"github.com/fenghuo-iot/fenghuo/uplink/mqtttest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// mountTmpfs mounts a tmpfs of size on a fresh directory for the test (tests
// run as root here and under CI). Where mounting is not permitted the test
// is skipped, except under CI=true, where it fails.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("cannot mount a %s tmpfs for the full-disk test (%v: %s); run the tests as root", size, err, bytes.TrimSpace(out))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes a filler file until the filesystem of dir is full; remove
// deletes it.
func fillDisk(t *testing.T, dir string) (remove func()) {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, chunk := range []int{64 << 10, 4 << 10, 512, 1} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("filling %s: %v", dir, err)
				}
				break
			}
		}
	}
	f.Close()
	return func() {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
	}
}

// durableOf is the ticket's optional durable field (nil: absent).
func durableOf(t *testing.T, payload []byte) *bool {
	t.Helper()
	var p struct {
		Durable *bool `json:"durable"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		t.Fatal(err)
	}
	return p.Durable
}

// ticketsAt returns the tickets received, deduplicated by event_id.
func ticketsAt(t *testing.T, v *mqtttest.Validator, msgs []mqtttest.Message) []ticket.Ticket {
	t.Helper()
	seen := map[string]bool{}
	var out []ticket.Ticket
	for _, m := range msgs {
		tk := decode(t, v, m.Payload)
		if !seen[tk.EventID] {
			seen[tk.EventID] = true
			out = append(out, tk)
		}
	}
	return out
}

// hasTicket: a ticket of hazard in state (and, when set, of ticketID) arrived.
func hasTicket(hazard, state string, after int) func([]mqtttest.Message) bool {
	return func(msgs []mqtttest.Message) bool {
		for _, m := range msgs[min(after, len(msgs)):] {
			if tk, err := ticket.Parse(m.Payload); err == nil && tk.Hazard == hazard && tk.State == state {
				return true
			}
		}
		return false
	}
}

// checkOutbox: every ticket seq from 1 to the last is in the outbox once
// (a tombstone counts), and every event the broker received is stored with
// the seq it was published with.
func checkOutbox(t *testing.T, d *Daemon, received []ticket.Ticket) []outbox.Record {
	t.Helper()
	h := any(d.store).(outbox.Historian)
	recs, err := h.History(context.Background(), outbox.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	bySeq := map[uint64]outbox.Record{}
	var last uint64
	for _, r := range recs {
		if _, dup := bySeq[r.Seq]; dup {
			t.Errorf("seq %d stored twice", r.Seq)
		}
		bySeq[r.Seq] = r
		last = max(last, r.Seq)
	}
	for s := uint64(1); s <= last; s++ {
		if _, ok := bySeq[s]; !ok {
			t.Errorf("seq %d missing from the outbox (last %d)", s, last)
		}
	}
	for _, tk := range received {
		r, ok := bySeq[tk.Seq]
		if !ok || (r.EventID != tk.EventID && r.State != "dropped") {
			t.Errorf("published seq %d (%s %s) not stored as such: %+v", tk.Seq, tk.Hazard, tk.State, r)
		}
	}
	return recs
}

// TestAlarmsOutrunFullDisk (issue 15): the outbox lives on a 2 MiB
// filesystem that fills. Fire alarms still reach a real mosquitto at once
// (marked durable: false), the status, diag status and the R29 ticket say
// storage is failing; once space returns every event is stored with the
// seq it was published with and delivered, seq gap-free.
func TestAlarmsOutrunFullDisk(t *testing.T) {
	dir := mountTmpfs(t, "2m")
	slave := modbustest.Start(t, map[uint8]map[uint16]uint16{1: {16: 0}})
	broker := mqtttest.StartMosquitto(t)
	v := mqtttest.NewValidator(t)
	sub := mqtttest.Subscribe(t, broker.URL(), "fenghuo/v1/330502103/gw-330502103-test-01/tickets")
	d, _ := runDaemon(t, fmt.Sprintf(testConfig, slave.Addr, broker.URL(), filepath.Join(dir, "outbox.db")), Options{})
	waitFor(t, 15*time.Second, "the link to connect", d.link.Connected)

	removeFiller := fillDisk(t, dir)
	var latencies []time.Duration
	for i := range 3 {
		n := len(sub.Messages())
		raised := time.Now()
		slave.SetHolding(1, 16, 1)
		msgs := sub.WaitUntil(fmt.Sprintf("fire alarm %d while the disk is full", i+1), 10*time.Second, hasTicket("smoke_fire_alarm", "open", n))
		for _, m := range msgs[n:] {
			if tk, _ := ticket.Parse(m.Payload); tk.Hazard == "smoke_fire_alarm" && tk.State == "open" {
				latencies = append(latencies, m.At.Sub(raised))
				if du := durableOf(t, m.Payload); du == nil || *du {
					t.Errorf("fire alarm %d published while the disk is full without durable: false", i+1)
				}
			}
		}
		n = len(sub.Messages())
		slave.SetHolding(1, 16, 0)
		sub.WaitUntil(fmt.Sprintf("clear %d", i+1), 10*time.Second, hasTicket("smoke_fire_alarm", "clear", n))
	}
	t.Logf("fire-bit change → broker while the disk is full: %v", latencies)
	st := d.status()
	if !st.StorageFault || st.NotDurable == 0 {
		t.Errorf("status while the disk is full: storage_fault %v, not_durable %d", st.StorageFault, st.NotDurable)
	}
	if as, err := d.views.Status(context.Background()); err != nil || !as.Buffer.StorageFault || as.Buffer.Uncommitted == 0 || as.Buffer.StorageError == "" {
		t.Errorf("diag status while the disk is full: %+v, %v", as.Buffer, err)
	}
	sub.WaitUntil("the R29 storage fault ticket", 15*time.Second, hasTicket("storage_fault", "open", 0))
	if v := gaugeValue(t, d, "fenghuo_storage_fault"); v != 1 {
		t.Errorf("fenghuo_storage_fault %v while the disk is full, want 1", v)
	}
	if v := gaugeValue(t, d, "fenghuo_outbox_not_durable"); v < 1 {
		t.Errorf("fenghuo_outbox_not_durable %v while the disk is full", v)
	}

	removeFiller()
	n := len(sub.Messages())
	waitFor(t, 15*time.Second, "the events kept in memory to be stored", func() bool {
		gs := d.guard.GuardStats()
		return gs.NotDurable == 0 && !gs.Failing()
	})
	sub.WaitUntil("the R29 clear", 15*time.Second, hasTicket("storage_fault", "clear", n))
	waitFor(t, 15*time.Second, "every event delivered", func() bool {
		s, err := d.guard.Stats(context.Background())
		return err == nil && s.Depth == 0
	})
	if st := d.status(); st.StorageFault || st.NotDurable != 0 {
		t.Errorf("status after space returned: storage_fault %v, not_durable %d", st.StorageFault, st.NotDurable)
	}
	if v := gaugeValue(t, d, "fenghuo_storage_fault"); v != 0 {
		t.Errorf("fenghuo_storage_fault %v after space returned", v)
	}
	recs := checkOutbox(t, d, ticketsAt(t, v, sub.Messages()))
	for _, r := range recs {
		if r.SentAt.IsZero() {
			t.Errorf("seq %d (%s %s) stored but not marked delivered", r.Seq, r.Hazard, r.State)
		}
	}
	if len(recs) < 8 { // 3 opens, 3 clears, R29 open and clear
		t.Errorf("%d records stored, want at least 8", len(recs))
	}
}

// TestStopWhileDiskFullKeepsEvents (issue 15): SIGTERM while the disk is
// full writes the events the outbox could not store to the fallback file
// (on another filesystem); the next start imports them first: every event
// is stored with its seq, nothing is lost, and the open alarm is not
// opened a second time.
func TestStopWhileDiskFullKeepsEvents(t *testing.T) {
	dir := mountTmpfs(t, "2m")
	fallback := filepath.Join(t.TempDir(), "fallback.jsonl")
	slave := modbustest.Start(t, map[uint8]map[uint16]uint16{1: {16: 0}})
	broker := mqtttest.StartMosquitto(t)
	v := mqtttest.NewValidator(t)
	sub := mqtttest.Subscribe(t, broker.URL(), "fenghuo/v1/330502103/gw-330502103-test-01/tickets")
	cfg := fmt.Sprintf(testConfig, slave.Addr, broker.URL(), filepath.Join(dir, "outbox.db")) + "  fallback_path: " + fallback + "\n"
	var mu sync.Mutex
	var committed []outbox.Record
	onCommitted := func(r outbox.Record) { mu.Lock(); committed = append(committed, r); mu.Unlock() }
	d, stop := runDaemon(t, cfg, Options{OnCommitted: onCommitted})
	waitFor(t, 15*time.Second, "the link to connect", d.link.Connected)

	removeFiller := fillDisk(t, dir)
	n := len(sub.Messages())
	slave.SetHolding(1, 16, 1) // stays raised across the restart
	sub.WaitUntil("the fire alarm while the disk is full", 10*time.Second, hasTicket("smoke_fire_alarm", "open", n))
	waitFor(t, 15*time.Second, "a storage fault", func() bool { return d.status().StorageFault })
	stop()
	data, err := os.ReadFile(fallback)
	if err != nil {
		t.Fatalf("no fallback file after a stop while the disk is full: %v", err)
	}
	lines := bytes.Count(data, []byte("\n"))
	mu.Lock()
	before := slices.Clone(committed)
	mu.Unlock()
	if lines == 0 || lines > len(before) {
		t.Fatalf("fallback file has %d lines for %d events committed", lines, len(before))
	}

	removeFiller()
	d2, _ := runDaemon(t, cfg, Options{})
	if st := d2.status(); st.FallbackImported != lines {
		t.Errorf("status fallback_imported %d, want %d", st.FallbackImported, lines)
	}
	waitFor(t, 15*time.Second, "the imported events to be stored and the file removed", func() bool {
		_, err := os.Stat(fallback)
		return d2.guard.GuardStats().NotDurable == 0 && errors.Is(err, os.ErrNotExist)
	})
	waitFor(t, 15*time.Second, "every event delivered", func() bool {
		s, err := d2.guard.Stats(context.Background())
		return err == nil && s.Depth == 0
	})
	recs := checkOutbox(t, d2, ticketsAt(t, v, sub.Messages()))
	stored := map[string]uint64{}
	opens := 0
	for _, r := range recs {
		stored[r.EventID] = r.Seq
		if r.Hazard == "smoke_fire_alarm" && r.State == "open" {
			opens++
		}
	}
	for _, r := range before {
		if !r.IsTicket() {
			continue
		}
		if seq, ok := stored[r.EventID]; !ok || seq != r.Seq {
			t.Errorf("event %s (%s %s seq %d) lost across the stop (stored seq %d, %v)", r.EventID, r.Hazard, r.State, r.Seq, seq, ok)
		}
	}
	if opens != 1 {
		t.Errorf("%d opens of the fire alarm stored, want 1 (the restart must not open it again)", opens)
	}
}

// gaugeValue gathers the daemon's metrics and returns the unlabelled gauge.
func gaugeValue(t *testing.T, d *Daemon, name string) float64 {
	t.Helper()
	mfs, err := d.metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
