package link

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
	"github.com/fenghuo-iot/fenghuo/uplink/gb26875/centre"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// pipeListener hands the reference centre one end of a net.Pipe per dial,
// so the link and the centre run inside a synctest bubble.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (p *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-p.conns:
		return c, nil
	case <-p.done:
		return nil, net.ErrClosed
	}
}

func (p *pipeListener) Close() error   { p.once.Do(func() { close(p.done) }); return nil }
func (p *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (p *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	a, b := net.Pipe()
	select {
	case p.conns <- b:
		return a, nil
	case <-p.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// The default timings on a virtual clock: a fire alarm never confirmed is
// sent at 0, 10, 20 and 30 s (confirm timeout 10 s, 3 retries), the link
// gives up at 40 s and connects again after 0.5–1 s of backoff, where the
// alarm is confirmed; 30 s later, idle, the heartbeat (type 21) goes out.
func TestDefaultTimingsVirtualClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pl := newPipeListener()
		var mu sync.Mutex
		var fires, beats []time.Time
		srv := centre.New(centre.Options{Out: io.Discard, Decide: func(f gb26875.Frame) centre.Action {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case len(f.Data) > 0 && gb26875.TypeFlag(f.Data[0]) == gb26875.TypeComponentState:
				fires = append(fires, time.Now())
				if len(fires) <= 4 {
					return centre.Drop
				}
			case len(f.Data) > 0 && gb26875.TypeFlag(f.Data[0]) == gb26875.TypeDeviceState:
				beats = append(beats, time.Now())
			}
			return centre.Confirm
		}})
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ctx, pl) }()
		ob := outbox.NewMemory()
		appendRecs(t, ob, record(t, fireTicket(), outbox.PriorityLevel1))
		l, err := New(Options{Centre: "centre.example:9000", Address: devAddr, Outbox: ob, Dial: pl.dial})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		ran := make(chan error, 1)
		go func() { ran <- l.Run(ctx) }()

		time.Sleep(42 * time.Second) // the virtual clock: past the give-up and the backoff
		synctest.Wait()
		mu.Lock()
		if len(fires) != 5 {
			t.Fatalf("fire alarm sent %d times by 42 s, want 4 on the first connection and 1 on the second", len(fires))
		}
		for i, at := range fires[:4] {
			if d := at.Sub(start); d != time.Duration(i)*10*time.Second {
				t.Errorf("send %d at %s, want %ds", i+1, d, i*10)
			}
		}
		if d := fires[4].Sub(start); d < 40500*time.Millisecond || d > 41*time.Second {
			t.Errorf("resent after reconnect at %s, want 40.5..41 s", d)
		}
		confirmed := fires[4]
		mu.Unlock()
		if pending(t, ob) != 0 || l.Stats().GaveUp != 1 {
			t.Fatalf("not delivered: %+v", l.Stats())
		}

		time.Sleep(40 * time.Second)
		synctest.Wait()
		mu.Lock()
		if len(beats) != 1 || beats[0].Sub(confirmed) != 30*time.Second {
			t.Errorf("heartbeats %v after the confirm at %v, want one 30 s later", beats, confirmed)
		}
		mu.Unlock()
		cancel()
		if err := <-ran; err != nil {
			t.Error(err)
		}
		<-served
	})
}
