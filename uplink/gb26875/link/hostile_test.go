package link

import (
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// A hostile centre: random bytes, a false "@@" with an over-long length,
// a frame with a bad checksum. The link denies the bad frame with its
// serial echoed, skips the garbage, and goes on to deliver the fire alarm
// once a good confirm arrives.
func TestGarbageFromCentre(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ob := outbox.NewMemory()
	appendRecs(t, ob, record(t, fireTicket(), outbox.PriorityLevel1))
	startLink(t, ln.Addr().String(), ob, func(o *Options) { o.ConfirmTimeout = 5 * time.Second })
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	dec := gb26875.NewDecoder(conn)
	next := func() gb26875.Frame {
		t.Helper()
		f, err := dec.Next()
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	write := func(b []byte) {
		t.Helper()
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	answer := func(f gb26875.Frame, c gb26875.Command) []byte {
		b, err := gb26875.Reply(f, c, f.Time).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rng := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 3000)
	for i := range garbage {
		garbage[i] = byte(rng.IntN(256))
	}
	version := next()
	write(garbage)
	write([]byte("@@\x00\x00\x01\x01\x00\x00\x00\x01\x01\x1a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x03"))
	bad := gb26875.Frame{Serial: 77, Version: gb26875.Version2011, Source: centreAddr, Dest: devAddr, Command: gb26875.CmdControl,
		Data: []byte{byte(gb26875.TypeDutyCheck), 1, 0}}
	b, _ := bad.MarshalBinary()
	b[len(b)-3]++
	write(b)
	write(answer(version, gb26875.CmdConfirm))
	var deny, fire gb26875.Frame
	for deny.Command == 0 || fire.Command == 0 {
		f := next()
		switch {
		case f.Command == gb26875.CmdDeny && f.Serial == 77:
			deny = f
		case f.Command == gb26875.CmdSend && len(f.Data) > 0 && gb26875.TypeFlag(f.Data[0]) == gb26875.TypeComponentState:
			fire = f
		}
	}
	write(answer(fire, gb26875.CmdConfirm))
	eventually(t, "delivery", func() bool { return pending(t, ob) == 0 })
}
