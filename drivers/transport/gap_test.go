package transport_test

import (
	"context"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/modbus"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
)

// TestRTUOverTCPGap: on rtu-over-tcp a positive gap is a pause between the
// last byte received and the next request; 0 and "minimal" keep none. In a
// synctest bubble over net.Pipe, so the pause is exact fake time.
func TestRTUOverTCPGap(t *testing.T) {
	for _, c := range []struct {
		gap, want time.Duration
	}{{0, 0}, {-1, 0}, {40 * time.Millisecond, 40 * time.Millisecond}} {
		synctest.Test(t, func(t *testing.T) {
			master, slave := net.Pipe()
			var at []time.Time
			go func() { // slave 1: fc3 register i = i, answered at once
				req := make([]byte, 8)
				for {
					if _, err := io.ReadFull(slave, req); err != nil {
						return
					}
					at = append(at, time.Now())
					if _, err := slave.Write(modbus.EncodeRTU(1, []byte{3, 2, 0, req[3]})); err != nil {
						return
					}
				}
			}()
			tr, err := transport.OpenWith(transport.Config{Type: "rtu-over-tcp", Address: "device-server:4001", Gap: c.gap},
				transport.Options{Dial: func(context.Context) (io.ReadWriteCloser, error) { return master, nil }})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			for addr := range uint16(3) {
				if got, err := tr.Read(context.Background(), 1, 3, addr, 1); err != nil || got[1] != byte(addr) {
					t.Fatalf("read @%d: % X, %v", addr, got, err)
				}
			}
			synctest.Wait()
			// flush reads a pipe (no TCIFLUSH on it) for 200 µs before each request
			want := c.want + 200*time.Microsecond
			if len(at) != 3 || at[1].Sub(at[0]) != want || at[2].Sub(at[1]) != want {
				t.Fatalf("gap %v: requests at %v, want %v apart", c.gap, at, want)
			}
		})
	}
}
