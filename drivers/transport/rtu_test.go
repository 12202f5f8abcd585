package transport_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbus"
	"github.com/fenghuo-iot/fenghuo/drivers/modbustest"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

// fault is how the fake slave answers the next request.
type fault int32

const (
	good fault = iota
	silent
	badCRC
	truncated
	garbageFirst
	wrongSlave
	trailing
	exception
	trickle
	late
)

// fakeLine is a Go fake slave 1 on a pty, answering fc3 reads with
// register i = base + i, and a transport on the other end.
type fakeLine struct {
	pty  *modbustest.Pty
	fake *modbustest.FakeRTU
	tr   transport.Transport
	mode atomic.Int32
	base atomic.Int32
	wait time.Duration // the transport's timeout
}

// fakeTimeout is the timeout of tests that expect timeouts: long enough
// that a loaded machine (2 shared cores, -race, other fuzzers) does not
// turn a slow good answer into a timeout.
const fakeTimeout = 500 * time.Millisecond

// newFakeLine starts the pty, the fake and the transport. Tests that
// expect timeouts pass fakeTimeout; others a long one, so that a loaded
// machine (2 shared cores, -race) does not turn a slow answer into a
// timeout.
func newFakeLine(t *testing.T, baud int, timeout time.Duration, opts transport.Options) *fakeLine {
	t.Helper()
	l := &fakeLine{pty: modbustest.StartPty(t), wait: timeout}
	l.fake = modbustest.ServeFakeRTU(t, l.pty.B, l.handle)
	tr, err := transport.OpenWith(transport.Config{Type: "rtu", Port: l.pty.A, Baud: baud, Timeout: timeout}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	l.tr = tr
	return l
}

// answer is the correct reply PDU to an fc3 request.
func (l *fakeLine) answer(req []byte) []byte {
	addr, count := int(req[2])<<8|int(req[3]), int(req[4])<<8|int(req[5])
	pdu := []byte{3, byte(2 * count)}
	for i := range count {
		v := int(l.base.Load()) + addr + i
		pdu = append(pdu, byte(v>>8), byte(v))
	}
	return pdu
}

func (l *fakeLine) handle(req []byte) []modbustest.Chunk {
	if req[1] != 3 {
		return modbustest.Reply(req[0], req[1]|0x80, modbus.IllegalFunction)
	}
	ok := modbus.EncodeRTU(req[0], l.answer(req))
	switch fault(l.mode.Load()) {
	case silent:
		return nil
	case badCRC:
		ok[len(ok)-1] ^= 0x55
	case truncated:
		ok = ok[:4]
	case garbageFirst:
		ok = append([]byte{0xFF, 0x00, 0x13}, ok...)
	case wrongSlave:
		ok = modbus.EncodeRTU(req[0]+1, l.answer(req))
	case trailing:
		ok = append(ok, 0x00, 0x00)
	case exception:
		return modbustest.Reply(req[0], 0x83, modbus.IllegalDataAddress)
	case trickle: // a slow slave: the bytes come one by one
		var cs []modbustest.Chunk
		for _, b := range ok {
			cs = append(cs, modbustest.Chunk{Delay: 2 * time.Millisecond, Bytes: []byte{b}})
		}
		return cs
	case late: // after the master gave up, with a value nobody should see
		l.base.Add(1000)
		stale := modbus.EncodeRTU(req[0], l.answer(req))
		l.base.Add(-1000)
		return []modbustest.Chunk{{Delay: 2 * l.wait, Bytes: stale}}
	}
	return []modbustest.Chunk{{Bytes: ok}}
}

// read reads 2 registers from 10 of slave 1 and checks the values when
// it succeeds.
func (l *fakeLine) read(t *testing.T) error {
	t.Helper()
	got, err := l.tr.Read(context.Background(), 1, 3, 10, 2)
	if err == nil {
		b := int(l.base.Load())
		if want := []byte{byte((b + 10) >> 8), byte(b + 10), byte((b + 11) >> 8), byte(b + 11)}; string(got) != string(want) {
			t.Fatalf("read = % X, want % X: a wrong value was delivered", got, want)
		}
	}
	return err
}

func TestRTUFaults(t *testing.T) {
	l := newFakeLine(t, 9600, fakeTimeout, transport.Options{})
	if err := l.read(t); err != nil {
		t.Fatalf("good: %v", err)
	}
	for _, c := range []struct {
		name string
		mode fault
		is   error
	}{
		{"crc", badCRC, transport.ErrCRC},
		{"truncated", truncated, transport.ErrFrame},
		{"garbage before the reply", garbageFirst, transport.ErrFrame},
		{"wrong slave", wrongSlave, transport.ErrWrongSlave},
		{"bytes after the frame", trailing, transport.ErrFrame},
		{"silent", silent, transport.ErrTimeout},
		{"slow bytes", trickle, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			l.mode.Store(int32(c.mode))
			start := time.Now()
			err := l.read(t)
			if c.is == nil && err != nil || c.is != nil && !errors.Is(err, c.is) {
				t.Fatalf("err = %v, want %v", err, c.is)
			}
			if d := time.Since(start); d > fakeTimeout+time.Second {
				t.Errorf("took %v (timeout %v)", d, fakeTimeout)
			}
			if err != nil && !strings.Contains(err.Error(), "rtu "+l.pty.A+" slave 1") {
				t.Errorf("message does not say where: %v", err)
			}
			l.mode.Store(int32(good))
			l.base.Add(1)
			if err := l.read(t); err != nil {
				t.Fatalf("the next request: %v", err)
			}
		})
	}
	l.mode.Store(int32(exception))
	var ex *transport.Exception
	if err := l.read(t); !errors.As(err, &ex) || ex.Code != transport.IllegalDataAddress {
		t.Errorf("exception: %v", err)
	}
	l.mode.Store(int32(good))
	if err := l.read(t); err != nil {
		t.Fatalf("after the exception: %v", err)
	}
}

func TestRTULateReplyIsNotTheNextAnswer(t *testing.T) {
	l := newFakeLine(t, 9600, fakeTimeout, transport.Options{})
	for i := range 3 {
		l.mode.Store(int32(late))
		if err := l.read(t); !errors.Is(err, transport.ErrTimeout) || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("round %d: err = %v, want a timeout", i, err)
		}
		// wait until the late reply (9 bytes) waits in the master's input queue
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(2 * time.Millisecond) {
			n, err := modbustest.Queued(l.pty.A)
			if err != nil {
				t.Fatal(err)
			}
			if n >= 9 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the late reply never arrived (%d bytes queued)", n)
			}
		}
		l.mode.Store(int32(good))
		if err := l.read(t); err != nil { // read checks the value: base, not base+1000
			t.Fatalf("round %d, after the late reply: %v", i, err)
		}
	}
}

func TestRTUKeepsTheInterFrameGap(t *testing.T) {
	const baud = 1200 // t3.5 = 32.1 ms: large enough to see on a pty
	l := newFakeLine(t, baud, time.Second, transport.Options{})
	for range 4 {
		if err := l.read(t); err != nil {
			t.Fatal(err)
		}
	}
	reqs := l.fake.Requests()
	gap := 35 * 11 * time.Second / (10 * baud)
	for i := 1; i < len(reqs); i++ {
		// the fake's reply left at Replied; the next request may start
		// t3.5 after the master received its last byte
		if d := reqs[i].At.Sub(reqs[i-1].Replied); d < gap-time.Millisecond {
			t.Errorf("request %d came %v after the previous reply, want ≥ t3.5 = %v", i, d, gap)
		}
	}
}

func TestRTUContextCancelInterruptsTheRead(t *testing.T) {
	l := newFakeLine(t, 9600, time.Second, transport.Options{})
	l.mode.Store(int32(silent))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	_, err := l.tr.Read(ctx, 1, 3, 0, 1)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
	ctx, cancel2 := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel2()
	if _, err := l.tr.Read(ctx, 1, 3, 0, 1); !errors.Is(err, transport.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("context deadline: %v", err)
	}
	l.mode.Store(int32(good))
	if err := l.read(t); err != nil {
		t.Fatal(err)
	}
}

func TestRTUTrace(t *testing.T) {
	var mu sync.Mutex
	var frames []transport.Frame
	l := newFakeLine(t, 9600, time.Second, transport.Options{Trace: func(f transport.Frame) {
		mu.Lock()
		f.Bytes = append([]byte(nil), f.Bytes...)
		frames = append(frames, f)
		mu.Unlock()
	}})
	if err := l.read(t); err != nil {
		t.Fatal(err)
	}
	l.mode.Store(int32(garbageFirst))
	_ = l.read(t)
	mu.Lock()
	defer mu.Unlock()
	if len(frames) < 4 || frames[0].Dir != transport.Sent || frames[1].Dir != transport.Received || frames[1].Err != nil {
		t.Fatalf("frames: %+v", frames)
	}
	if want := "01 03 00 0A 00 02 E4 09"; strings.ToUpper(hexs(frames[0].Bytes)) != want {
		t.Errorf("sent % X, want %s", frames[0].Bytes, want)
	}
	if f := frames[3]; f.Dir != transport.Received || !errors.Is(f.Err, transport.ErrFrame) {
		t.Errorf("garbage frame: %+v", f)
	}
}

func hexs(b []byte) string {
	var sb strings.Builder
	for i, x := range b {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(strings.ToUpper(string("0123456789abcdef"[x>>4]) + string("0123456789abcdef"[x&15])))
	}
	return sb.String()
}

func TestRTUPortRemovedAndRestored(t *testing.T) {
	l := newFakeLine(t, 9600, time.Second, transport.Options{})
	if err := l.read(t); err != nil {
		t.Fatal(err)
	}
	l.pty.Stop() // the USB adapter is unplugged
	for i := range 2 {
		err := l.read(t)
		if err == nil || errors.Is(err, transport.ErrTimeout) {
			t.Fatalf("request %d with the port gone: %v, want an I/O or open error", i, err)
		}
		t.Logf("request %d: %v", i, err)
	}
	l.pty.Start() // plugged back in, same name
	modbustest.ServeFakeRTU(t, l.pty.B, l.handle)
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := l.read(t)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recovered: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
}
