package daemon

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbustest"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// TestFireAlarmConfirmedWithoutWaitingForThePoll: R1 needs two reads of the
// alarm register. The second is a confirmation read asked as soon as the
// first one saw the alarm, so the open ticket is committed long before the
// device's next regular poll (4 s later here); without confirmation reads
// it could not be committed earlier than that poll.
func TestFireAlarmConfirmedWithoutWaitingForThePoll(t *testing.T) {
	const poll = 4 * time.Second
	slave := modbustest.Start(t, map[uint8]map[uint16]uint16{1: {16: 0}})
	text := fmt.Sprintf(testConfig, slave.Addr, "tcp://127.0.0.1:1", filepath.Join(t.TempDir(), "outbox.db"))
	text = replaceOnce(text, "poll: 200ms", "poll: "+poll.String())
	type commit struct {
		at      time.Time
		payload []byte
	}
	committed := make(chan commit, 4)
	d, _ := runDaemon(t, text, Options{OnCommitted: func(r outbox.Record) {
		if strings.Contains(string(r.Payload), `"state":"open"`) {
			committed <- commit{time.Now(), r.Payload}
		}
	}})
	waitFor(t, 10*time.Second, "the first poll, reading the register as 0", func() bool {
		devs, _ := d.views.Devices(t.Context())
		return devs.Devices[0].PollsOK > 0
	})
	slave.SetHolding(1, 16, 1)
	var c commit
	select {
	case c = <-committed:
	case <-time.After(3 * poll):
		t.Fatal("no open ticket within three poll intervals")
	}
	// The first read that saw the alarm came at a regular poll; the
	// ticket's occurred_at is that read.
	tk := decodeNoSchema(t, c.payload)
	occurred, err := time.Parse(time.RFC3339Nano, tk.OccurredAt)
	if err != nil {
		t.Fatal(err)
	}
	if gap := c.at.Sub(occurred); gap >= poll/2 {
		t.Fatalf("open committed %v after the first alarm read; a confirmation read takes milliseconds, the next poll %v", gap, poll)
	}
}
