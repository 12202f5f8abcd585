//go:build linux && amd64

package transport_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbustest"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

// A second rtu master on a port that one already holds is refused, with
// the port and the holder named; once the first closes, it opens.
func TestSerialPortIsLockedWhileOpen(t *testing.T) {
	a, _ := modbustest.PtyPair(t)
	open := func() transport.Transport {
		tr, err := transport.Open(transport.Config{Type: "rtu", Port: a, Timeout: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	ctx := context.Background()
	first := open()
	if _, err := first.Read(ctx, 1, 3, 0, 1); !errors.Is(err, transport.ErrTimeout) { // nobody answers; the port is open
		t.Fatalf("first master: %v, want a timeout", err)
	}
	second := open()
	_, err := second.Read(ctx, 1, 3, 0, 1)
	if !errors.Is(err, transport.ErrPortLocked) {
		t.Fatalf("second master: %v, want ErrPortLocked", err)
	}
	if msg := err.Error(); !strings.Contains(msg, a+" is locked by pid "+strconv.Itoa(os.Getpid())+" (") {
		t.Errorf("message %q does not name the port and this process", msg)
	}
	if err := transport.CheckPortFree(a); !errors.Is(err, transport.ErrPortLocked) {
		t.Errorf("CheckPortFree while held: %v, want ErrPortLocked", err)
	}
	first.Close()
	if err := transport.CheckPortFree(a); err != nil {
		t.Errorf("CheckPortFree once released: %v", err)
	}
	if _, err := second.Read(ctx, 1, 3, 0, 1); !errors.Is(err, transport.ErrTimeout) {
		t.Fatalf("after the first closed: %v, want the port open (a timeout)", err)
	}
	second.Close()
}
