package centre

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls out until it holds n lines containing want.
func waitFor(t *testing.T, out *syncBuf, want string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Count(out.String(), want) >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no %d× %q in output:\n%s", n, want, out.String())
}

var (
	device = gb26875.Address(0x0379)
	centre = gb26875.Address(0x015B38)
	at     = gb26875.TimeLabel{Second: 2, Minute: 58, Hour: 9, Day: 26, Month: 9, Year: 12}
)

func send(t *testing.T, serial uint16, app gb26875.AppData) []byte {
	t.Helper()
	f := gb26875.Frame{Serial: serial, Version: gb26875.Version2011, Time: at, Source: device, Dest: centre, Command: gb26875.CmdSend}
	if app.Type != 0 {
		var err error
		if f.Data, err = app.MarshalBinary(); err != nil {
			t.Fatal(err)
		}
	}
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fire(desc string) gb26875.AppData {
	return gb26875.AppData{Type: gb26875.TypeComponentState, Objects: []gb26875.Object{gb26875.ComponentState{
		Component: gb26875.Component{
			System: gb26875.System{Type: gb26875.SystemFireAlarm, Addr: 1},
			Type:   gb26875.ComponentPointPhotoelectric, Addr: gb26875.ComponentAddr{Zone: 1, Position: 12},
		},
		Status: gb26875.StatusNormal | gb26875.StatusFire, Description: desc, Time: at,
	}}}
}

func start(t *testing.T, o Options) (string, *syncBuf) {
	t.Helper()
	out := &syncBuf{}
	o.Out = out
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(o).Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String(), out
}

// A real TCP client: two frames glued in one write, one split over three
// writes, a bad checksum (denied with its serial), then a good frame
// (confirmed), and a confirm from the client (not answered).
func TestCentreOverTCP(t *testing.T) {
	addr, out := start(t, Options{})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	answers := gb26875.NewDecoder(conn)
	next := func() gb26875.Frame {
		t.Helper()
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		f, err := answers.Next()
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	expect := func(serial uint16, cmd gb26875.Command) {
		t.Helper()
		f := next()
		if f.Serial != serial || f.Command != cmd || f.Source != centre || f.Dest != device || len(f.Data) != 0 {
			t.Fatalf("answer %+v, want %v for serial %d", f, cmd, serial)
		}
	}

	glued := append(send(t, 0, gb26875.AppData{}), send(t, 1, fire("一楼厨房烟感"))...)
	if _, err := conn.Write(glued); err != nil {
		t.Fatal(err)
	}
	expect(0, gb26875.CmdConfirm)
	expect(1, gb26875.CmdConfirm)

	split := send(t, 2, fire("二楼\x1b[31m走廊\u202e烟感"))
	for _, part := range [][]byte{split[:5], split[5:40], split[40:]} {
		if _, err := conn.Write(part); err != nil {
			t.Fatal(err)
		}
	}
	expect(2, gb26875.CmdConfirm)

	bad := send(t, 3, fire("坏"))
	bad[len(bad)-3] ^= 0xFF
	good := send(t, 4, gb26875.AppData{Type: gb26875.TypeDeviceState,
		Objects: []gb26875.Object{gb26875.DeviceState{Status: gb26875.DevNormal | gb26875.DevMainPowerFault, Time: at}}})
	if _, err := conn.Write(append(append([]byte("noise"), bad...), good...)); err != nil {
		t.Fatal(err)
	}
	expect(3, gb26875.CmdDeny)
	expect(4, gb26875.CmdConfirm)

	// A confirm from the device, then a send: only the send is answered.
	ack := gb26875.Reply(gb26875.Frame{Serial: 9, Version: gb26875.Version2011, Source: centre, Dest: device}, gb26875.CmdConfirm, at)
	b, _ := ack.MarshalBinary()
	if _, err := conn.Write(append(b, send(t, 5, gb26875.AppData{})...)); err != nil {
		t.Fatal(err)
	}
	expect(5, gb26875.CmdConfirm)

	waitFor(t, out, "#5 send", 1)
	text := out.String()
	for _, want := range []string{
		`#0 send 000000000379→000000015B38 2012-09-26 09:58:02 · heartbeat (no data) · → confirm`,
		`#1 send 000000000379→000000015B38 2012-09-26 09:58:02 · component state: 1/1 point photoelectric smoke detector(42) 1-12 normal+fire "一楼厨房烟感" at 2012-09-26 09:58:02 · → confirm`,
		`"二楼[31m走廊烟感"`,
		`#3 send 000000000379→000000015B38 2012-09-26 09:58:02 · gb26875: frame serial 3 from 000000000379: bad checksum`,
		`· → deny`,
		`#4 send 000000000379→000000015B38 2012-09-26 09:58:02 · device state: device normal+main-power-fault at 2012-09-26 09:58:02 · → confirm`,
		"#9 confirm 000000000379→000000015B38 2012-09-26 09:58:02\n", // not answered
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "\x1b") || strings.Contains(text, "\u202e") {
		t.Errorf("control characters reached the output:\n%q", text)
	}
}

func TestCentreJSONAndAddress(t *testing.T) {
	addr, out := start(t, Options{JSON: true, Address: 0xABCDEF, UseAddress: true})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(send(t, 7, fire("配电间\x07"))); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := gb26875.NewDecoder(conn).Next()
	if err != nil || f.Source != 0xABCDEF || f.Serial != 7 || f.Command != gb26875.CmdConfirm {
		t.Fatalf("%+v %v", f, err)
	}
	waitFor(t, out, `"serial":7`, 1)
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		if r["serial"] == 7.0 {
			objs := r["objects"].([]any)
			v := objs[0].(map[string]any)["value"].(map[string]any)
			if v["Description"] != "配电间" || v["Status"] != 3.0 || r["reply"] != "confirm" || r["type"] != 2.0 {
				t.Fatalf("record %v", r)
			}
		}
	}
}

// Connections past MaxConns are closed at once; the ones served go on.
func TestCentreBoundsConnections(t *testing.T) {
	addr, out := start(t, Options{MaxConns: 1})
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	waitFor(t, out, "connected", 1)
	second, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	_ = second.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := second.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("second connection: %d %v", n, err)
	}
	waitFor(t, out, "refused: 1 connections already open", 1)
	if _, err := first.Write(send(t, 0, gb26875.AppData{})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, out, "→ confirm", 1)
}

func TestClean(t *testing.T) {
	if got := Clean("a\x00b\x1b[2Jc\u202ed\u200be\r\nf\x7f\u0085g"); got != "ab[2Jcdefg" {
		t.Fatalf("%q", got)
	}
}

// A silent connection is closed after Idle; one that ends inside a frame
// says so.
func TestCentreClosesIdleAndTruncated(t *testing.T) {
	addr, out := start(t, Options{Idle: 50 * time.Millisecond})
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	waitFor(t, out, "closed: silent for 50ms", 1)

	addr, out = start(t, Options{}) // default idle: only the EOF closes it
	cut, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cut.Write(send(t, 1, fire("半"))[:40]); err != nil {
		t.Fatal(err)
	}
	cut.(*net.TCPConn).CloseWrite()
	waitFor(t, out, "closed inside a frame (40 bytes unread)", 1)
	cut.Close()
}

// Fault injection: Decide denies the first send and drops the second, the
// third is confirmed; OnFrame sees every frame with the answer given; Send
// reaches the connected device.
func TestCentreDecideOnFrameSend(t *testing.T) {
	var mu sync.Mutex
	var acts []Action
	n := 0
	srv := New(Options{Out: io.Discard,
		Decide: func(f gb26875.Frame) Action {
			mu.Lock()
			defer mu.Unlock()
			n++
			return []Action{Deny, Drop, Confirm}[min(n, 3)-1]
		},
		OnFrame: func(f gb26875.Frame, a Action) { mu.Lock(); acts = append(acts, a); mu.Unlock() },
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	dec := gb26875.NewDecoder(conn)
	for _, serial := range []uint16{1, 2, 3} {
		if _, err := conn.Write(send(t, serial, fire("烟感"))); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []struct {
		serial uint16
		cmd    gb26875.Command
	}{{1, gb26875.CmdDeny}, {3, gb26875.CmdConfirm}} {
		f, err := dec.Next()
		if err != nil || f.Serial != want.serial || f.Command != want.cmd {
			t.Fatalf("got %+v %v, want %v for serial %d (serial 2 dropped)", f, err, want.cmd, want.serial)
		}
	}
	duty := gb26875.Frame{Serial: 50, Version: gb26875.Version2011, Source: centre, Dest: device, Command: gb26875.CmdControl,
		Data: []byte{byte(gb26875.TypeDutyCheck), 1, 0}}
	if got := srv.Send(duty); got != 1 {
		t.Fatalf("Send reached %d connections", got)
	}
	if f, err := dec.Next(); err != nil || f.Serial != 50 || f.Command != gb26875.CmdControl {
		t.Fatalf("device got %+v %v", f, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(acts) != 3 || acts[0] != Deny || acts[1] != Drop || acts[2] != Confirm {
		t.Errorf("OnFrame saw %v", acts)
	}
}
