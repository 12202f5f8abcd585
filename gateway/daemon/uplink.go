package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/engine"
	"github.com/fenghuo-iot/fenghuo/gateway/localapi"
	"github.com/fenghuo-iot/fenghuo/gateway/uplinks"
	"github.com/fenghuo-iot/fenghuo/uplink/downlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// buildUplinks builds every configured uplink, each over its own view of
// the guard (a delivery cursor per uplink): the township's MQTT link, and
// the GB/T 26875.3 centre link when uplink.gb26875 is configured (DESIGN
// §10). Run starts, wakes and stops them all alike.
func (d *Daemon) buildUplinks() error {
	view, err := uplinks.NewView(d.guard, outbox.DefaultUplink)
	if err != nil {
		return fmt.Errorf("uplink: %w", err)
	}
	o := d.linkOptions()
	o.Outbox = view
	link, err := mqttlink.New(o)
	if err != nil {
		return fmt.Errorf("uplink: %w", err)
	}
	d.link = link
	m := uplinks.MQTT{Link: link, View: view}
	d.uplinks = []uplinks.Uplink{m}
	d.reports = []localapi.Uplink{m}
	if d.cfg.Uplink.GB26875 == nil {
		return nil
	}
	gview, err := uplinks.NewView(d.guard, uplinks.GB26875Name)
	if err != nil {
		return fmt.Errorf("uplink.gb26875: %w", err)
	}
	g, err := uplinks.NewGB26875(d.cfg, gview, uplinks.GB26875Options{Logger: d.log, FaultAfter: o.FaultAfter, Tune: d.opts.tuneGB})
	if err != nil {
		return fmt.Errorf("uplink.gb26875: %w", err)
	}
	d.gb = g
	d.uplinks = append(d.uplinks, g)
	d.reports = append(d.reports, g)
	return nil
}

// outboxUplinks are the outbox's delivery cursors: "mqtt", and "gb26875"
// when the centre link is configured.
func (d *Daemon) outboxUplinks() []string { return uplinks.Names(d.cfg.Uplink.GB26875 != nil) }

// engineUplinks are the uplinks besides MQTT, each with an R25 of its own.
func (d *Daemon) engineUplinks() []engine.Uplink {
	if d.gb == nil {
		return nil
	}
	return []engine.Uplink{d.gb}
}

// linkOptions maps the config onto the MQTT link: the connection as
// `diag uplink` probes it (uplinks.MQTTOptions), plus the status message
// and the downlink (buildUplinks adds the outbox view).
func (d *Daemon) linkOptions() mqttlink.Options {
	o := uplinks.MQTTOptions(d.cfg)
	// The link enforces buffer.max_size (DESIGN §6 eviction order) and
	// prunes delivered records past retention (30 days and 999 tickets).
	o.MaxSize = int64(d.cfg.Buffer.MaxSize)
	o.Status = d.status
	o.Logger = d.log
	// uplink.cmd_key_file: only signed downlink commands are accepted.
	o.CmdKey = []byte(d.cfg.Uplink.CmdKey.Reveal())
	if d.cfg.Uplink.AllowRemoteControl {
		o.Control = d.remoteControl
	}
	if d.cfg.Uplink.AllowRemoteConfig {
		o.Config = d.remoteConfig // remoteconfig.go
	}
	if d.opts.tuneLink != nil {
		d.opts.tuneLink(&o)
	}
	return o
}

// connOptions is cfg's MQTT connection as the link would be built with
// it (a reload moves the link with it: mqttlink.Link.PrepareConnection).
func (d *Daemon) connOptions(cfg *config.Config) mqttlink.Options {
	o := uplinks.MQTTOptions(cfg)
	if d.opts.tuneLink != nil {
		d.opts.tuneLink(&o)
	}
	return o
}

// startUplinks runs every uplink until the returned stop is called (after
// the rule loop's last commit); stop returns the first error other than
// a cancellation.
func (d *Daemon) startUplinks() (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, len(d.uplinks))
	for _, u := range d.uplinks {
		go func() {
			err := u.Run(ctx)
			if err != nil && !errors.Is(err, context.Canceled) {
				d.log.Error("uplink stopped", "uplink", u.Name(), "err", err)
			}
			done <- err
		}()
	}
	return func() error {
		cancel()
		var first error
		for range d.uplinks {
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) && first == nil {
				first = err
			}
		}
		return first
	}
}

// notifyUplinks wakes every uplink after a commit.
func (d *Daemon) notifyUplinks() {
	for _, u := range d.uplinks {
		u.Notify()
	}
}

// uplinkHealth is the MQTT link's part of the health report.
func (d *Daemon) uplinkHealth() ticket.HealthUplink {
	h := ticket.HealthUplink{Connected: d.link.Connected(), TransmissionFault: d.link.TransmissionFault()}
	if lp := d.link.LastPublish(); !lp.IsZero() {
		h.LastPublishAt = ticket.FormatTime(lp)
	}
	if rtt := d.link.LastRoundTrip(); rtt > 0 {
		ms := float64(rtt.Microseconds()) / 1000
		h.RoundTripMS = &ms
	}
	return h
}

// remoteControl runs a downlink control command (signed: the link's guard
// refuses unsigned control) like `diag control`, recorded with source
// remote.
func (d *Daemon) remoteControl(ctx context.Context, device, action, by string) (downlink.ControlResult, error) {
	res, err := d.views.RunControl(ctx, api.ControlRequest{Device: device, Action: action, By: "remote:" + by}, ticket.SourceRemote)
	if err != nil {
		return downlink.ControlResult{}, err
	}
	return downlink.ControlResult{Device: res.Device, Action: res.Action, Result: res.Result, Error: res.Error, Seq: res.Seq}, nil
}
