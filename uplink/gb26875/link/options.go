package link

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
)

// Defaults (GB/T 26875.3-2011 5.2.3, DESIGN.md §3).
const (
	DefaultConfirmTimeout = 10 * time.Second
	DefaultRetries        = 3
	DefaultHeartbeat      = 30 * time.Second
	DefaultTimeZone       = "+08:00"
	MaxRetries            = 10
)

// Options configures a Link. Centre and Outbox are required; every other
// zero value means its default.
type Options struct {
	Centre        string          // host:port of the centre
	Address       gb26875.Address // this device's address (source)
	CentreAddress gb26875.Address // the centre's address (destination)
	Outbox        outbox.Outbox

	ConfirmTimeout time.Duration  // wait for confirm (3), default 10 s
	Retries        int            // retransmissions of one frame, default 3 (1..10)
	Heartbeat      time.Duration  // idle-link heartbeat (type 21), default 30 s
	Location       *time.Location // zone of time labels, default UTC+8
	DialTimeout    time.Duration  // TCP connect, default ConfirmTimeout
	MinBackoff     time.Duration  // reconnect backoff, default 1 s
	MaxBackoff     time.Duration  // default 60 s
	PollInterval   time.Duration  // outbox poll without Notify, default 1 s
	// Silence is how long the centre may send nothing before the link
	// gives the connection up; default 2 × Heartbeat + ConfirmTimeout (a
	// live centre confirms every heartbeat).
	Silence time.Duration

	// BusZones maps a ticket's device.bus to the zone (区号) of its
	// component address; the position is the Modbus slave. A bus not in
	// the map is zone 0.
	BusZones map[string]uint16
	// Version is the device software version reported (types 25, 5):
	// major, minor. Default 1.0.
	Version [2]uint8
	// Config is the device configuration text answered to query 86
	// (≤ 255 bytes GB 18030); default "fenghuo".
	Config string

	// The callbacks below run on the link's goroutine and must not block.
	//
	// OnClockOffset gets the centre's clock minus the gateway's at each
	// clock sync (90), to the second. The link never steps the system clock.
	OnClockOffset func(offset time.Duration)
	// OnDutyCheck is called at each duty check (查岗, 91): a person answers
	// (the answer, type 24 bit 5, is not sent by the link on its own).
	OnDutyCheck func(at time.Time)
	// OnInitialise is called at each initialise command (89).
	OnInitialise func(at time.Time)
	// OnDelivered is called after a record was confirmed and marked sent.
	OnDelivered func(rec outbox.Record, at time.Time)

	Now    func() time.Time // time labels and callbacks; nil: time.Now
	Logger *slog.Logger     // nil: discard
	// Dial opens the TCP connection; nil: a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ConfirmTimeout, DefaultConfirmTimeout)
	def(&o.Heartbeat, DefaultHeartbeat)
	def(&o.DialTimeout, o.ConfirmTimeout)
	def(&o.MinBackoff, time.Second)
	def(&o.MaxBackoff, 60*time.Second)
	def(&o.PollInterval, time.Second)
	def(&o.Silence, 2*o.Heartbeat+o.ConfirmTimeout)
	if o.Retries <= 0 {
		o.Retries = DefaultRetries
	}
	if o.Location == nil {
		o.Location = time.FixedZone("UTC+8", 8*3600)
	}
	if o.Version == [2]uint8{} {
		o.Version = [2]uint8{1, 0}
	}
	if o.Config == "" {
		o.Config = "fenghuo"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Dial == nil {
		o.Dial = (&net.Dialer{}).DialContext
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
}

func (o *Options) validate() error {
	var errs []error
	if msg := CheckHostPort(o.Centre); msg != "" {
		errs = append(errs, fmt.Errorf("link: centre %q %s", o.Centre, msg))
	}
	if o.Outbox == nil {
		errs = append(errs, errors.New("link: no outbox"))
	}
	if o.Address > gb26875.MaxAddress || o.CentreAddress > gb26875.MaxAddress {
		errs = append(errs, errors.New("link: an address does not fit 6 bytes"))
	}
	if o.Retries > MaxRetries {
		errs = append(errs, fmt.Errorf("link: retries %d is over %d", o.Retries, MaxRetries))
	}
	return errors.Join(errs...)
}

// CheckHostPort returns "" when s is host:port with a non-empty host and a
// port 1..65535, else what is wrong (for a message that names the key).
func CheckHostPort(s string) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "is not host:port (e.g. 10.20.30.40:9000)"
	}
	if host == "" {
		return "has no host"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "has no valid port (1..65535)"
	}
	return ""
}

// ParseZone parses a time_zone "±HH:MM" (UTC offset of the site's local
// time, which the standard's time labels carry without a zone).
func ParseZone(s string) (*time.Location, error) {
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return nil, fmt.Errorf("%q is not ±HH:MM (e.g. +08:00)", s)
	}
	h, err1 := strconv.Atoi(s[1:3])
	m, err2 := strconv.Atoi(s[4:6])
	if err1 != nil || err2 != nil || h > 14 || m > 59 || strings.ContainsAny(s[1:3]+s[4:6], "+-") {
		return nil, fmt.Errorf("%q is not ±HH:MM with HH 00..14 and MM 00..59", s)
	}
	off := h*3600 + m*60
	if s[0] == '-' {
		off = -off
	}
	return time.FixedZone("UTC"+s, off), nil
}

// Settings are the config's uplink.gb26875 keys as plain values (the
// daemon copies them from gateway/config, which this package must not
// import).
type Settings struct {
	Centre         string
	Address        uint64
	CentreAddress  uint64
	ConfirmTimeout time.Duration
	Retries        int
	Heartbeat      time.Duration
	TimeZone       string // ±HH:MM
	// BusZones is the config's bus order: bus name → 1-based zone.
	BusZones map[string]uint16
}

// FromSettings maps the config's keys to Options for ob; the callbacks,
// logger and version are the caller's to add.
func FromSettings(s Settings, ob outbox.Outbox) (Options, error) {
	tz := s.TimeZone
	if tz == "" {
		tz = DefaultTimeZone
	}
	loc, err := ParseZone(tz)
	if err != nil {
		return Options{}, fmt.Errorf("link: time_zone %w", err)
	}
	o := Options{
		Centre: s.Centre, Address: gb26875.Address(s.Address), CentreAddress: gb26875.Address(s.CentreAddress),
		Outbox: ob, ConfirmTimeout: s.ConfirmTimeout, Retries: s.Retries, Heartbeat: s.Heartbeat,
		Location: loc, BusZones: s.BusZones,
	}
	o.defaults()
	return o, o.validate()
}
