package transport_test

import (
	"os"
	"syscall"
	"testing"

	"github.com/fenghuo-iot/fenghuo/drivers/modbustest"
	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
	"github.com/fenghuo-iot/fenghuo/drivers/transport/transporttest"
)

func TestConformanceTCP(t *testing.T) {
	transporttest.Run(t, func(t *testing.T, srv *sim.Server) transport.Transport {
		addr, err := srv.ListenTCP("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return transport.NewTCP(addr, transporttest.Timeout)
	})
}

func TestConformanceRTUOverTCP(t *testing.T) {
	transporttest.Run(t, func(t *testing.T, srv *sim.Server) transport.Transport {
		addr, err := srv.ListenRTUOverTCP("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return transport.NewRTUOverTCP(addr, transporttest.Timeout, transport.Options{})
	})
}

func TestConformanceRTUOnPty(t *testing.T) {
	transporttest.Run(t, func(t *testing.T, srv *sim.Server) transport.Transport {
		a, b := modbustest.PtyPair(t)
		f, err := os.OpenFile(b, os.O_RDWR|syscall.O_NOCTTY, 0)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = srv.ServeRTU(f, sim.RTUOptions{}) // ends when f closes
		}()
		t.Cleanup(func() {
			f.Close()
			<-done
		})
		tr, err := transport.NewRTU(transport.Config{Port: a, Baud: 9600, Timeout: transporttest.Timeout}, transport.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	})
}
