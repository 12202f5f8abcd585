package demo

import (
	"errors"
	"fmt"

	"github.com/fenghuo-iot/fenghuo/drivers/sim"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
)

// SimDevice is a configured device a simulator serves.
type SimDevice struct {
	Config config.Device
	Sim    *sim.Device
}

// AddDevices adds the devices of cfg on bus ("": on every bus) to srv, in
// config order, each with its profile's register map and defaults.
func AddDevices(srv *sim.Server, cfg *config.Config, bus string) ([]SimDevice, error) {
	var out []SimDevice
	for _, dc := range cfg.Devices {
		if bus != "" && dc.Bus != bus {
			continue
		}
		p, ok := cfg.Profiles().Get(dc.Profile)
		if !ok {
			return nil, fmt.Errorf("device %q: profile %q not found", dc.ID, dc.Profile)
		}
		out = append(out, SimDevice{Config: dc, Sim: srv.AddDevice(uint8(dc.Slave), p)})
	}
	return out, nil
}

// ErrNotSimulated is the error of ServeBus for a bus the simulator does
// not serve (a serial line).
var ErrNotSimulated = errors.New("not simulated (tcp and rtu-over-tcp only)")

// SimBus is one bus served by a simulator.
type SimBus struct {
	Server  *sim.Server // the caller closes it
	Devices []SimDevice
	Addr    string // where it listens
	Framing string // Modbus TCP, Modbus RTU over TCP
}

// ServeBus simulates the devices of cfg on bus b (tcp or rtu-over-tcp) on
// b's address, as `fenghuo sim` does.
func ServeBus(cfg *config.Config, b config.Bus) (*SimBus, error) {
	if b.Type != "tcp" && b.Type != "rtu-over-tcp" {
		return nil, fmt.Errorf("bus %s: type %s is %w", b.Name, b.Type, ErrNotSimulated)
	}
	sb := &SimBus{Server: sim.NewServer(), Framing: "Modbus TCP"}
	devs, err := AddDevices(sb.Server, cfg, b.Name)
	listen := sb.Server.ListenTCP
	if b.Type == "rtu-over-tcp" {
		listen, sb.Framing = sb.Server.ListenRTUOverTCP, "Modbus RTU over TCP"
	}
	if err == nil {
		sb.Addr, err = listen(b.Address)
	}
	if err != nil {
		sb.Server.Close()
		return nil, fmt.Errorf("bus %s: %w", b.Name, err)
	}
	sb.Devices = devs
	return sb, nil
}

// SiteBus is one bus of a config as ServeSite left it: served (SimBus),
// or skipped (Skipped wraps ErrNotSimulated).
type SiteBus struct {
	Name string
	*SimBus
	Skipped error
}

// ServeSite serves every bus of cfg the simulator can serve (ServeBus),
// in config order, and skips the others (serial lines). With writable,
// every mapped holding register of every device takes writes from a
// master (a bench: another tool plays the device). A bus that cannot be
// served is an error, and then nothing is left serving; otherwise stop
// closes every server.
func ServeSite(cfg *config.Config, writable bool) (buses []SiteBus, stop func(), err error) {
	stop = func() {
		for _, b := range buses {
			if b.SimBus != nil {
				b.Server.Close()
			}
		}
	}
	for _, b := range cfg.Buses {
		sb, err := ServeBus(cfg, b)
		if errors.Is(err, ErrNotSimulated) {
			buses = append(buses, SiteBus{Name: b.Name, Skipped: err})
			continue
		} else if err != nil {
			stop()
			return nil, nil, err
		}
		for _, d := range sb.Devices {
			if writable {
				d.Sim.WriteAll()
			}
		}
		buses = append(buses, SiteBus{Name: b.Name, SimBus: sb})
	}
	return buses, stop, nil
}
