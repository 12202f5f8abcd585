package demo

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/transport"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
)

// `fenghuo sim` on a config with a serial line and a TCP bus: the serial
// line is skipped and named, the TCP bus served in config order; with
// writable a master can set a register; stop closes the port.
func TestServeSite(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg, err := config.Parse(fmt.Appendf(nil, `gateway:
  id: gw-330502103-sim-01
  site: {name: bench, township_code: "330502103"}
buses:
  - {name: rs485-1, type: rtu, port: /dev/ttyS1}
  - {name: lan, type: tcp, address: "%s"}
devices:
  - {id: smoke-1, name: smoke, bus: lan, slave: 1, profile: smoke-detector}
  - {id: smoke-2, name: smoke, bus: rs485-1, slave: 2, profile: smoke-detector}
uplink:
  mqtt: {broker: "tcp://127.0.0.1:1883"}
`, addr))
	if err != nil {
		t.Fatal(err)
	}
	buses, stop, err := ServeSite(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(buses) != 2 || buses[0].Name != "rs485-1" || !errors.Is(buses[0].Skipped, ErrNotSimulated) || buses[0].SimBus != nil {
		t.Fatalf("buses %+v: want rs485-1 skipped, then lan", buses)
	}
	lan := buses[1]
	if lan.SimBus == nil || lan.Addr != addr || lan.Framing != "Modbus TCP" || len(lan.Devices) != 1 || lan.Devices[0].Config.ID != "smoke-1" {
		t.Fatalf("lan %+v", lan)
	}
	tr := transport.NewTCP(lan.Addr, time.Second)
	defer tr.Close()
	if err := tr.Write(t.Context(), 1, 0, []uint16{2}); err != nil {
		t.Fatalf("write to a writable simulator: %v", err)
	}
	if regs, err := tr.Read(t.Context(), 1, 3, 0, 1); err != nil || regs[1] != 2 {
		t.Errorf("status register after the write: %v %v", regs, err)
	}
	stop()
	if c, err := net.DialTimeout("tcp", lan.Addr, time.Second); err == nil {
		c.Close()
		t.Errorf("still listening on %s after stop", lan.Addr)
	}
}
