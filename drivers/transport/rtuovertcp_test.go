package transport_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbus"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

// tcpFake is a serial device server with slave 1 behind it: it answers
// fc3 requests (8-byte RTU frames) on every connection with register
// i = i, or with the fault in mode.
type tcpFake struct {
	l       net.Listener
	accepts atomic.Int32
	mode    atomic.Int32
	wg      sync.WaitGroup
}

func newTCPFake(t *testing.T) *tcpFake {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &tcpFake{l: l}
	var mu sync.Mutex
	var conns []net.Conn
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			f.accepts.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				f.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		f.wg.Wait()
	})
	return f
}

func (f *tcpFake) serve(c net.Conn) {
	req := make([]byte, 8)
	for {
		if _, err := io.ReadFull(c, req); err != nil {
			return
		}
		count := int(req[5])
		pdu := []byte{3, byte(2 * count)}
		for i := range count {
			pdu = append(pdu, 0, byte(int(req[3])+i))
		}
		out := modbus.EncodeRTU(req[0], pdu)
		switch fault(f.mode.Load()) {
		case silent:
			continue
		case badCRC:
			out[len(out)-1] ^= 1
		case garbageFirst:
			out = append([]byte{0xFF}, out...)
		}
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

func TestRTUOverTCPRedialsAfterErrors(t *testing.T) {
	f := newTCPFake(t)
	tr := transport.NewRTUOverTCP(f.l.Addr().String(), 100*time.Millisecond, transport.Options{})
	t.Cleanup(func() { tr.Close() })
	ctx := context.Background()
	read := func() error {
		got, err := tr.Read(ctx, 1, 3, 5, 2)
		if err == nil && string(got) != string([]byte{0, 5, 0, 6}) {
			t.Fatalf("read = % X", got)
		}
		return err
	}
	if err := read(); err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		mode fault
		is   error
	}{{badCRC, transport.ErrCRC}, {garbageFirst, transport.ErrFrame}, {silent, transport.ErrTimeout}} {
		f.mode.Store(int32(c.mode))
		if err := read(); !errors.Is(err, c.is) {
			t.Fatalf("mode %d: %v, want %v", c.mode, err, c.is)
		}
		f.mode.Store(int32(good))
		if err := read(); err != nil {
			t.Fatalf("after mode %d: %v", c.mode, err)
		}
		if n := f.accepts.Load(); n != int32(i+2) {
			t.Errorf("after error %d: %d connections, want %d (a redial after each error)", i, n, i+2)
		}
	}
}

// pipeSlave answers fc3 requests on one end of a net.Pipe: the Dial hook
// path, whose stale input is drained with short reads.
func TestRTUDialHookOnPipe(t *testing.T) {
	var dials atomic.Int32
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	dial := func(ctx context.Context) (io.ReadWriteCloser, error) {
		dials.Add(1)
		a, b := net.Pipe()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer b.Close()
			req := make([]byte, 8)
			for {
				if _, err := io.ReadFull(b, req); err != nil {
					return
				}
				if req[0] == 9 { // a stale, unsolicited frame, then silence
					if _, err := b.Write(modbus.EncodeRTU(1, []byte{3, 2, 0xDE, 0xAD})); err != nil {
						return
					}
					continue
				}
				if _, err := b.Write(modbus.EncodeRTU(req[0], []byte{3, 2, 0, 42})); err != nil {
					return
				}
			}
		}()
		return a, nil
	}
	tr, err := transport.OpenWith(transport.Config{Type: "rtu", Port: "pipe", Timeout: 100 * time.Millisecond},
		transport.Options{Dial: dial})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	ctx := context.Background()
	if got, err := tr.Read(ctx, 1, 3, 0, 1); err != nil || got[1] != 42 {
		t.Fatalf("read = % X, %v", got, err)
	}
	// slave 9 gets a reply from slave 1: wrong slave, drained
	if _, err := tr.Read(ctx, 9, 3, 0, 1); !errors.Is(err, transport.ErrWrongSlave) {
		t.Fatalf("slave 9: %v", err)
	}
	if got, err := tr.Read(ctx, 1, 3, 0, 1); err != nil || got[1] != 42 {
		t.Fatalf("read after = % X, %v", got, err)
	}
	if dials.Load() != 1 {
		t.Errorf("%d dials, want 1 (no I/O error)", dials.Load())
	}
}
