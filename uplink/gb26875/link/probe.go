package link

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/fenghuo-iot/fenghuo/uplink/gb26875"
)

// ProbeStep is one step of [Probe]: "tcp" (connect) or "confirm" (a
// send-data frame confirmed). Ms is how long it took.
type ProbeStep struct {
	Step   string  `json:"step"`
	OK     bool    `json:"ok"`
	Ms     float64 `json:"ms"`
	Detail string  `json:"detail,omitempty"`
	Error  string  `json:"error,omitempty"`
}

// ProbeResult is what [Probe] found. RoundTripMS is send → confirm of the
// probe's frame (0 when it was not confirmed).
type ProbeResult struct {
	Centre        string      `json:"centre"`
	Address       uint64      `json:"address"`
	CentreAddress uint64      `json:"centre_address"`
	OK            bool        `json:"ok"`
	Failed        string      `json:"failed,omitempty"`
	RoundTripMS   float64     `json:"round_trip_ms,omitempty"`
	Steps         []ProbeStep `json:"steps"`
}

// LastError is the error of the step that failed, "" when none did.
func (r ProbeResult) LastError() string {
	for _, s := range r.Steps {
		if !s.OK {
			return s.Error
		}
	}
	return ""
}

// ProbeOptions configure [Probe]. Timeout bounds each step (default 10 s);
// OnStart and OnStep, when set, see the probe begin and each step end.
type ProbeOptions struct {
	Timeout time.Duration
	OnStart func(ProbeResult)
	OnStep  func(ProbeStep)
}

// Probe checks the centre of o the way the link reaches it, on a
// connection of its own: TCP connect, then one send-data frame — the
// device version (type 25), which the link sends first on every
// connection and which states nothing about the site — that the centre
// must confirm (3) with its serial echoed. It stops at the first step that
// fails. Only o's centre, addresses, zone, version and Dial are used.
func Probe(ctx context.Context, o Options, po ProbeOptions) ProbeResult {
	if po.Timeout <= 0 {
		po.Timeout = DefaultConfirmTimeout
	}
	o.defaults()
	res := ProbeResult{Centre: o.Centre, Address: uint64(o.Address), CentreAddress: uint64(o.CentreAddress)}
	if po.OnStart != nil {
		po.OnStart(res)
	}
	step := func(s ProbeStep) bool {
		res.Steps = append(res.Steps, s)
		if po.OnStep != nil {
			po.OnStep(s)
		}
		if !s.OK {
			res.Failed = s.Step
		}
		return s.OK
	}
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, po.Timeout)
	conn, err := o.Dial(dctx, "tcp", o.Centre)
	cancel()
	if !step(probeStep("tcp", start, err, "connected to "+o.Centre)) {
		return res
	}
	defer conn.Close()
	start = time.Now()
	rtt, detail, err := probeConfirm(ctx, conn, &o, po.Timeout)
	if step(probeStep("confirm", start, err, detail)) {
		res.OK = true
		res.RoundTripMS = float64(rtt.Microseconds()) / 1000
	}
	return res
}

func probeStep(name string, start time.Time, err error, detail string) ProbeStep {
	s := ProbeStep{Step: name, OK: err == nil, Ms: float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		s.Error = err.Error()
	} else {
		s.Detail = detail
	}
	return s
}

// probeConfirm sends the version frame and waits for its confirm; the
// centre's other frames are read and passed over.
func probeConfirm(ctx context.Context, conn net.Conn, o *Options, timeout time.Duration) (time.Duration, string, error) {
	app := gb26875.AppData{Type: gb26875.TypeDeviceVersion, Objects: []gb26875.Object{
		gb26875.DeviceVersion{Major: o.Version[0], Minor: o.Version[1]}}}
	data, err := app.MarshalBinary()
	if err != nil {
		return 0, "", err
	}
	f := gb26875.Frame{Serial: 0, Version: gb26875.Version2011, Time: gb26875.LabelOf(o.Now().In(o.Location)),
		Source: o.Address, Dest: o.CentreAddress, Command: gb26875.CmdSend, Data: data}
	b, err := f.MarshalBinary()
	if err != nil {
		return 0, "", err
	}
	deadline := time.Now().Add(timeout)
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	sent := time.Now()
	if _, err := conn.Write(b); err != nil {
		return 0, "", fmt.Errorf("write: %w", err)
	}
	d := gb26875.NewDecoder(conn)
	for {
		in, err := d.Next()
		var fe *gb26875.FrameError
		switch {
		case errors.As(err, &fe):
			continue
		case err != nil:
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return 0, "", fmt.Errorf("no confirm within %s (serial 0)", timeout)
			}
			return 0, "", fmt.Errorf("read: %w", err)
		case in.Serial != f.Serial:
			continue
		case in.Command == gb26875.CmdConfirm:
			rtt := time.Since(sent)
			return rtt, fmt.Sprintf("device version %d.%d confirmed, serial 0, centre %d, round trip %s", o.Version[0], o.Version[1], in.Source, rtt.Round(time.Microsecond)), nil
		case in.Command == gb26875.CmdDeny:
			return 0, "", errors.New("the centre denied (6) the probe's frame: check uplink.gb26875.address and centre_address")
		}
	}
}

// ProbeSettings is [Probe] of the config's settings (`diag uplink`: no
// outbox is needed to probe).
func ProbeSettings(ctx context.Context, s Settings, po ProbeOptions) (ProbeResult, error) {
	tz := s.TimeZone
	if tz == "" {
		tz = DefaultTimeZone
	}
	loc, err := ParseZone(tz)
	if err != nil {
		return ProbeResult{}, fmt.Errorf("link: time_zone %w", err)
	}
	if msg := CheckHostPort(s.Centre); msg != "" {
		return ProbeResult{}, fmt.Errorf("link: centre %q %s", s.Centre, msg)
	}
	o := Options{Centre: s.Centre, Address: gb26875.Address(s.Address), CentreAddress: gb26875.Address(s.CentreAddress), Location: loc}
	return Probe(ctx, o, po), nil
}
