package daemon

import (
	"context"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/uplink/downlink"
	"github.com/fenghuo-iot/fenghuo/uplink/mqttlink"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// linkOptions maps the uplink section of the config onto the MQTT link.
func (d *Daemon) linkOptions() mqttlink.Options {
	m := d.cfg.Uplink.MQTT
	o := mqttlink.Options{
		Broker:       m.Broker,
		ClientID:     m.ClientID,
		Username:     m.Username,
		Password:     m.Password.Reveal(),
		CAFile:       m.CAFile,
		CertFile:     m.CertFile,
		KeyFile:      m.KeyFile,
		TopicPrefix:  m.TopicPrefix,
		TownshipCode: d.cfg.Gateway.Site.TownshipCode,
		GatewayID:    d.cfg.Gateway.ID,
		Keepalive:    m.Keepalive,
		Heartbeat:    d.cfg.Uplink.Heartbeat,
		Outbox:       d.guard,
		// The link enforces buffer.max_size (DESIGN §6 eviction order) and
		// prunes delivered records past retention (30 days and 999 tickets).
		MaxSize: int64(d.cfg.Buffer.MaxSize),
		Status:  d.status,
		Logger:  d.log,
		// uplink.cmd_key_file: only signed downlink commands are accepted.
		CmdKey: []byte(d.cfg.Uplink.CmdKey.Reveal()),
	}
	if d.cfg.Uplink.AllowRemoteControl {
		o.Control = d.remoteControl
	}
	return o
}

// remoteControl runs a downlink control command (signed: the link's guard
// refuses unsigned control) like `diag control`, recorded with source
// remote.
func (d *Daemon) remoteControl(ctx context.Context, device, action, by string) (downlink.ControlResult, error) {
	res, err := d.control(ctx, api.ControlRequest{Device: device, Action: action, By: "remote:" + by}, ticket.SourceRemote)
	if err != nil {
		return downlink.ControlResult{}, err
	}
	return downlink.ControlResult{Device: res.Device, Action: res.Action, Result: res.Result, Error: res.Error, Seq: res.Seq}, nil
}

// status is the gateway's fenghuo.status.v1 message (online); the link
// publishes it retained on connect and every heartbeat.
func (d *Daemon) status() ticket.Status {
	online, busErrors := d.deviceCounts()
	st := ticket.Status{
		Schema:        ticket.StatusSchema,
		Gateway:       d.cfg.Gateway.ID,
		State:         "online",
		Version:       d.opts.Version,
		StartedAt:     ticket.FormatTime(d.started),
		At:            ticket.FormatTime(time.Now()),
		DevicesOnline: online,
		DevicesTotal:  len(d.devices),
		BusErrors:     busErrors,
		ConfigHash:    d.configHash,
	}
	if off, ok := d.link.ClockOffset(); ok {
		ms := off.Milliseconds()
		st.ClockOffsetMS = &ms
	}
	d.bufferStatus(&st)
	st.TransmissionFault = d.link.TransmissionFault()
	if lp := d.link.LastPublish(); !lp.IsZero() {
		st.LastPublishAt = ticket.FormatTime(lp)
	}
	return st
}

// deviceCounts is how many devices are online, and each bus's read
// errors since the start.
func (d *Daemon) deviceCounts() (online int, busErrors map[string]ticket.BusErrors) {
	busErrors = map[string]ticket.BusErrors{}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ds := range d.devices {
		if ds.online {
			online++
		}
		h, b := ds.stats.health, busErrors[ds.cfg.Bus]
		b.Requests += h.Requests
		b.Timeouts += h.Timeouts
		b.FrameErrors += h.FrameErrors
		b.Exceptions += h.Exceptions
		b.Other += h.OtherErrors
		busErrors[ds.cfg.Bus] = b
	}
	return online, busErrors
}

// bufferStatus fills the outbox's part of the status: depth, drops and a
// storage fault (storage.go: the status says so at once, the R29 ticket
// after a few seconds).
func (d *Daemon) bufferStatus(st *ticket.Status) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	gs := d.guard.GuardStats()
	if s, err := d.guard.Stats(ctx); err == nil {
		st.BufferDepth = s.Depth
		if !s.OldestUnsent.IsZero() {
			st.OldestUnsentAgeS = max(time.Since(s.OldestUnsent).Seconds(), 0)
		}
		st.Dropped = ticket.Dropped{Tickets: s.DroppedTickets, Telemetry: s.DroppedTelemetry, Lost: gs.Lost}
	}
	st.StorageFault = d.storageFault(time.Now())
	if st.StorageFault {
		since := gs.FailingSince
		if since.IsZero() {
			since = d.storageFileSince()
		}
		if !since.IsZero() {
			st.StorageFaultSince = ticket.FormatTime(since)
		}
	}
	st.NotDurable = gs.NotDurable
	d.mu.Lock()
	st.FallbackImported = d.storage.imported
	d.mu.Unlock()
}
