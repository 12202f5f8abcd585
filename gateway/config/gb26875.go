package config

import (
	"net"
	"strconv"
	"time"
)

// MaxGB26875Address is the largest 6-byte address of GB/T 26875.3.
const MaxGB26875Address = 1<<48 - 1

// validateGB26875 checks uplink.gb26875 when it is set.
func (c *Config) validateGB26875(p *problems) {
	g := c.Uplink.GB26875
	if g == nil {
		return
	}
	const k = "uplink.gb26875."
	switch {
	case g.Centre == "":
		p.add(k+"centre", "is required (host:port of the city's remote fire monitoring centre, e.g. 10.20.30.40:9000)")
	default:
		if msg := checkCentre(g.Centre); msg != "" {
			p.add(k+"centre", "%q %s", g.Centre, msg)
		}
	}
	if !p.present[k+"address"] {
		p.add(k+"address", "is required (the device address the centre assigned, 6 bytes, decimal, e.g. 330502103001)")
	}
	checkGBAddress(p, k+"address", g.Address)
	checkGBAddress(p, k+"centre_address", g.CentreAddress)
	between(p, k+"confirm_timeout", g.ConfirmTimeout, time.Second, time.Minute, "GB/T 26875.3: at most 10s is the standard's wait")
	between(p, k+"heartbeat", g.Heartbeat, time.Second, 10*time.Minute, "")
	if g.Retries < 1 || g.Retries > 10 {
		p.add(k+"retries", "%d is out of range 1..10 (GB/T 26875.3: 3)", g.Retries)
	}
	if !validZone(g.TimeZone) {
		p.add(k+"time_zone", "%q is not ±HH:MM (e.g. \"+08:00\"; quote it)", g.TimeZone)
	}
}

func checkGBAddress(p *problems, key string, a int64) {
	if a < 0 || a > MaxGB26875Address {
		p.add(key, "%d is out of range 0..%d (6 bytes)", a, int64(MaxGB26875Address))
	}
}

// between requires lo <= d <= hi.
func between(p *problems, key string, d, lo, hi time.Duration, note string) {
	if d < lo || d > hi {
		if note != "" {
			note = " (" + note + ")"
		}
		p.add(key, "%s is out of range %s..%s%s", d, lo, hi, note)
	}
}

// checkCentre returns "" when s is host:port with a port 1..65535.
func checkCentre(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return "is not host:port (e.g. 10.20.30.40:9000)"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "has no valid port (1..65535)"
	}
	return ""
}

// validZone reports whether s is ±HH:MM with HH 00..14 and MM 00..59.
func validZone(s string) bool {
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return false
	}
	for _, i := range []int{1, 2, 4, 5} {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	h, m := int(s[1]-'0')*10+int(s[2]-'0'), int(s[4]-'0')*10+int(s[5]-'0')
	return h <= 14 && m <= 59
}

// BusZones is the zone (区号) of each bus in a GB/T 26875.3 component
// address: its 1-based position in buses.
func (c *Config) BusZones() map[string]uint16 {
	m := make(map[string]uint16, len(c.Buses))
	for i, b := range c.Buses {
		m[b.Name] = uint16(min(i+1, 65535))
	}
	return m
}
