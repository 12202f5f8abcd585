package link

import (
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// BenchmarkTicketFrame is one ticket event (a fire alarm) parsed, mapped
// to its component state, and encoded as a send-data frame.
func BenchmarkTicketFrame(b *testing.B) {
	l, err := New(Options{Centre: "c:1", Outbox: outbox.NewMemory(), BusZones: map[string]uint16{"rs485-1": 1}})
	if err != nil {
		b.Fatal(err)
	}
	rec := record(b, fireTicket(), outbox.PriorityLevel1)
	now := time.Now()
	buf := make([]byte, 0, gb26875.MaxFrameLen)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		units, err := l.encode(rec)
		if err != nil {
			b.Fatal(err)
		}
		f := gb26875.Frame{Serial: uint16(i), Version: gb26875.Version2011, Time: gb26875.LabelOf(now),
			Source: devAddr, Dest: centreAddr, Command: gb26875.CmdSend, Data: units[0].data}
		if buf, err = f.Append(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeliverLoopback is one fire alarm from Append to the centre's
// confirm and MarkSent, over TCP on loopback to the reference centre
// (Notify wakes the link; one record outstanding at a time).
func BenchmarkDeliverLoopback(b *testing.B) {
	c := startCentre(b, "127.0.0.1:0", nil)
	ob := outbox.NewMemory()
	done := make(chan struct{}, 1)
	var l *Link
	l = startLink(b, c.addr, ob, func(o *Options) {
		o.PollInterval = time.Hour
		o.OnDelivered = func(outbox.Record, time.Time) { done <- struct{}{} }
	})
	rec := record(b, fireTicket(), outbox.PriorityLevel1)
	for b.Loop() {
		appendRecs(b, ob, rec)
		l.Notify()
		<-done
	}
}
