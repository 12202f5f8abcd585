package config

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var (
	gatewayID    = regexp.MustCompile(`^[a-z0-9-]{3,64}$`)
	townshipCode = regexp.MustCompile(`^[0-9]{9}$`)
	areaCode     = regexp.MustCompile(`^[0-9]{6,12}$`)
	busName      = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	deviceID     = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
)

// Bus types.
var busTypes = []string{"rtu", "tcp", "rtu-over-tcp"}

// validate checks every section; profiles and rules are checked in
// validate_rules.go.
func (c *Config) validate(p *problems) {
	c.validateGateway(p)
	c.validateBuses(p)
	c.loadProfiles(p)
	c.validateDevices(p)
	c.validateRules(p)
	c.validateProfileRules(p)
	c.validateUplink(p)
	c.validateLocal(p)
	c.validateMergedRules(p)
}

func (c *Config) validateGateway(p *problems) {
	g := c.Gateway
	switch {
	case g.ID == "":
		p.add("gateway.id", "is required (e.g. gw-330502103-yuncun-01)")
	case !gatewayID.MatchString(g.ID):
		p.add("gateway.id", "%q must be 3..64 characters of a-z, 0-9 and -", g.ID)
	}
	s := g.Site
	if strings.TrimSpace(s.Name) == "" {
		p.add("gateway.site.name", "is required (the site's name, e.g. 云村文化礼堂)")
	}
	switch {
	case s.TownshipCode == "":
		p.add("gateway.site.township_code", `is required (the township's 9-digit division code, e.g. "330502103")`)
	case !townshipCode.MatchString(s.TownshipCode):
		p.add("gateway.site.township_code", "%q must be 9 digits", s.TownshipCode)
	}
	if s.AreaCode != "" && !areaCode.MatchString(s.AreaCode) {
		p.add("gateway.site.area_code", "%q must be 6..12 digits", s.AreaCode)
	}
}

func (c *Config) validateBuses(p *problems) {
	if len(c.Buses) == 0 {
		p.add("buses", "at least one bus is required")
	}
	seen := map[string]int{}
	for i, b := range c.Buses {
		at := fmt.Sprintf("buses[%d]", i)
		switch j, dup := seen[b.Name]; {
		case b.Name == "":
			p.add(at+".name", "is required")
		case dup:
			p.add(at+".name", "%q is also the name of buses[%d]", b.Name, j)
		case !busName.MatchString(b.Name):
			p.add(at+".name", "%q must be 1..64 characters of a-z, 0-9, - and _", b.Name)
		}
		seen[b.Name] = i
		validateBus(p, at, b)
	}
}

// validateBus checks one bus's type and line settings.
func validateBus(p *problems, at string, b Bus) {
	switch b.Type {
	case "rtu":
		if b.Port == "" {
			p.add(at+".port", "is required for an rtu bus (e.g. /dev/ttyS1)")
		}
		if b.Address != "" {
			p.add(at+".address", "is not used by an rtu bus (set port; or type: tcp / rtu-over-tcp)")
		}
	case "tcp", "rtu-over-tcp":
		if b.Address == "" {
			p.add(at+".address", "is required for a %s bus (host:port, e.g. 192.168.1.50:502)", b.Type)
		} else if msg := checkHostPort(b.Address, false); msg != "" {
			p.add(at+".address", "%q %s", b.Address, msg)
		}
		if b.Port != "" {
			p.add(at+".port", "is not used by a %s bus (set address; or type: rtu)", b.Type)
		}
	case "":
		p.add(at+".type", "is required (one of %s)", strings.Join(busTypes, ", "))
	default:
		p.add(at+".type", "%q is not one of %s%s", b.Type, strings.Join(busTypes, ", "), hint(b.Type, busTypes))
	}
	if !slices.Contains(baudRates, b.Baud) {
		p.add(at+".baud", "%d is not a standard rate (%s)", b.Baud, joinInts(baudRates))
	}
	if b.DataBits != 8 {
		// Modbus RTU frames are 8-bit; 7 data bits is Modbus ASCII.
		p.add(at+".data_bits", "%d: Modbus RTU needs 8 data bits", b.DataBits)
	}
	if b.Parity != "N" && b.Parity != "E" && b.Parity != "O" {
		p.add(at+".parity", "%q is not one of N, E, O", b.Parity)
	}
	if b.StopBits != 1 && b.StopBits != 2 {
		p.add(at+".stop_bits", "%d is not one of 1, 2", b.StopBits)
	}
	if b.Timeout <= 0 {
		p.add(at+".timeout", "%s must be greater than 0", b.Timeout)
	}
	if b.Retries < 0 || b.Retries > 10 {
		p.add(at+".retries", "%d is out of range 0..10", b.Retries)
	}
	validateGap(p, at, b)
	validateEcho(p, at, b)
}

// checkHostPort returns "" for a good host:port, else what is wrong.
// zeroPort allows port 0 (a listener on any free port).
func checkHostPort(addr string, zeroPort bool) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "is not host:port"
	}
	n, err := strconv.Atoi(port)
	lo := 1
	if zeroPort {
		lo = 0
	}
	switch {
	case host == "" && !zeroPort:
		return "has no host"
	case err != nil || n < lo || n > 65535:
		return fmt.Sprintf("has no valid port (%d..65535)", lo)
	}
	return ""
}

func (c *Config) validateDevices(p *problems) {
	if len(c.Devices) == 0 {
		p.add("devices", "at least one device is required")
	}
	buses := make([]string, len(c.Buses))
	for i, b := range c.Buses {
		buses[i] = b.Name
	}
	ids := map[string]int{}
	slaves := map[string]int{} // "bus/slave" -> device index
	for i, d := range c.Devices {
		at := fmt.Sprintf("devices[%d]", i)
		switch j, dup := ids[d.ID]; {
		case d.ID == "":
			p.add(at+".id", "is required (e.g. smoke-1f-kitchen)")
		case dup:
			p.add(at+".id", "%q is also the id of devices[%d]", d.ID, j)
		case d.ID == c.Gateway.ID:
			p.add(at+".id", "%q is the gateway's own id (gateway.id), which its R25 tickets use as their device; give the device another id", d.ID)
		case !deviceID.MatchString(d.ID):
			p.add(at+".id", "%q must be 1..64 characters of a-z, 0-9, - and _", d.ID)
		}
		ids[d.ID] = i
		if strings.TrimSpace(d.Name) == "" {
			p.add(at+".name", "is required (shown on tickets, e.g. 一楼厨房烟感)")
		}
		switch {
		case d.Bus == "":
			p.add(at+".bus", "is required (one of %s)", strings.Join(buses, ", "))
		case !slices.Contains(buses, d.Bus) && !p.decoded["buses"]:
			p.add(at+".bus", "%q is not a configured bus%s", d.Bus, hint(d.Bus, buses))
		}
		c.validateSlave(p, i, d, slaves)
		c.validateDeviceProfile(p, at, d)
		c.validateDeviceParams(p, at, d)
		if p.present[at+".poll"] && d.Poll <= 0 {
			p.add(at+".poll", "%s must be greater than 0 (or leave it out for the profile's default)", d.Poll)
		}
	}
}

// validateSlave checks the slave id's range and uniqueness on its bus.
func (c *Config) validateSlave(p *problems, i int, d Device, seen map[string]int) {
	at := fmt.Sprintf("devices[%d]", i)
	if d.Slave < 1 || d.Slave > 247 {
		if !p.present[at+".slave"] {
			p.add(at+".slave", "is required (1..247)")
		} else {
			p.add(at+".slave", "%d is out of range 1..247", d.Slave)
		}
		return
	}
	key := d.Bus + "/" + strconv.Itoa(d.Slave)
	if j, dup := seen[key]; dup {
		p.add(at+".slave", "%d on bus %q is also the slave of devices[%d] (%s)", d.Slave, d.Bus, j, c.Devices[j].ID)
		return
	}
	seen[key] = i
}

// baudRates are the line speeds a serial port can be set to (the RTU
// transport refuses others when it opens the port).
var baudRates = []int{1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600}

func joinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ", ")
}
