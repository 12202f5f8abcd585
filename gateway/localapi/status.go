package localapi

import (
	"context"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// Status answers /v1/status (diag status).
func (v *Views) Status(ctx context.Context) (api.Status, error) {
	now := time.Now()
	link := v.opts.Link
	st := api.Status{
		Now: now, Version: v.opts.Version, GatewayID: v.cfg.Gateway.ID,
		StartedAt: v.opts.Started, UptimeS: now.Sub(v.opts.Started).Seconds(),
		Uplink: api.UplinkStatus{
			Broker: link.Broker(), Connected: link.Connected(),
			LastPublishAt: link.LastPublish(),
		},
		Buffer: api.BufferStatus{Path: v.cfg.Buffer.Path},
		Config: v.configStatus(),
	}
	st.Devices.Online, _ = v.loop.Devices().Counts()
	st.Devices.Total = len(v.loop.Devices().List())
	gs := v.opts.Guard.GuardStats()
	st.Buffer.Uncommitted = gs.NotDurable
	st.Buffer.StorageFault = v.loop.StorageFault(now)
	st.Buffer.StorageFaultSince = gs.FailingSince
	st.Buffer.StorageError = v.loop.StorageError(gs)
	st.Buffer.FallbackImported = v.loop.FallbackImported()
	st.Buffer.Lost = gs.Lost
	st.Uplinks = v.uplinkStates(ctx, now)
	s, err := v.opts.Guard.Stats(ctx)
	if err != nil {
		st.Buffer.Error = err.Error()
		return st, nil
	}
	st.Buffer.Depth, st.Buffer.LastSeq, st.Buffer.Sent = s.Depth, s.LastSeq, s.Sent
	st.Buffer.DroppedTickets, st.Buffer.DroppedTelemetry = s.DroppedTickets, s.DroppedTelemetry
	if !s.OldestUnsent.IsZero() {
		st.Buffer.OldestUnsentAt = s.OldestUnsent
		st.Buffer.OldestUnsentAgeS = now.Sub(s.OldestUnsent).Seconds()
	}
	return st, nil
}

// StatusMessage is the gateway's fenghuo.status.v1 message (online); the
// MQTT link publishes it retained on connect and every heartbeat.
func (v *Views) StatusMessage() ticket.Status {
	online, busErrors := v.loop.Devices().Counts()
	st := ticket.Status{
		Schema:        ticket.StatusSchema,
		Gateway:       v.cfg.Gateway.ID,
		State:         "online",
		Version:       v.opts.Version,
		StartedAt:     ticket.FormatTime(v.opts.Started),
		At:            ticket.FormatTime(time.Now()),
		DevicesOnline: online,
		DevicesTotal:  len(v.loop.Devices().List()),
		BusErrors:     busErrors,
		ConfigHash:    v.loop.ConfigHash(),
	}
	if at := v.loop.ConfigLoadedAt(); !at.IsZero() {
		st.ConfigLoadedAt = ticket.FormatTime(at)
	}
	if off, ok := v.opts.Link.ClockOffset(); ok {
		ms := off.Milliseconds()
		st.ClockOffsetMS = &ms
	}
	v.bufferStatus(&st)
	st.TransmissionFault = v.opts.Link.TransmissionFault()
	if lp := v.opts.Link.LastPublish(); !lp.IsZero() {
		st.LastPublishAt = ticket.FormatTime(lp)
	}
	return st
}

// bufferStatus fills the outbox's part of the status message: depth,
// drops and a storage fault (engine's storage.go: the status says so at
// once, the R29 ticket after a few seconds).
func (v *Views) bufferStatus(st *ticket.Status) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	gs := v.opts.Guard.GuardStats()
	if s, err := v.opts.Guard.Stats(ctx); err == nil {
		st.BufferDepth = s.Depth
		if !s.OldestUnsent.IsZero() {
			st.OldestUnsentAgeS = max(time.Since(s.OldestUnsent).Seconds(), 0)
		}
		st.Dropped = ticket.Dropped{Tickets: s.DroppedTickets, Telemetry: s.DroppedTelemetry, Lost: gs.Lost}
	}
	st.StorageFault = v.loop.StorageFault(time.Now())
	if st.StorageFault {
		since := gs.FailingSince
		if since.IsZero() {
			since = v.loop.StorageFileSince()
		}
		if !since.IsZero() {
			st.StorageFaultSince = ticket.FormatTime(since)
		}
	}
	st.NotDurable = gs.NotDurable
	st.FallbackImported = v.loop.FallbackImported()
}

// configStatus is the running config and the last reload attempt.
func (v *Views) configStatus() api.ConfigStatus {
	cs := api.ConfigStatus{Hash: v.loop.ConfigHash(), LoadedAt: v.loop.ConfigLoadedAt(), Path: v.opts.ConfigPath}
	if v.opts.LastReload != nil {
		cs.LastReload = v.opts.LastReload()
	}
	return cs
}
