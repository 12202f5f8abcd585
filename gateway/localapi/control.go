package localapi

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/busdiag"
	"github.com/fenghuo-iot/fenghuo/gateway/engine"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox"
	"github.com/fenghuo-iot/fenghuo/uplink/sanitize"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// maxBy bounds the `by` of an operation (who asked), in bytes.
const maxBy = 64

// OperationRecord is the outbox record of a control operation (state
// operation, never an alarm), with the device's GB/T 45839 status.
func OperationRecord(res api.Control, source, by string, gw ticket.Gateway, dev ticket.Device, status int) (outbox.Record, error) {
	op := ticket.Operation{
		Action: res.Action, Source: source, By: cleanBy(by), Result: res.Result, Error: res.Error,
		Point: res.Point, Address: res.Address, Value: res.Value,
	}
	t := ticket.OperationRecord(op, gw, dev, status, res.At)
	payload, err := t.Marshal()
	if err != nil {
		return outbox.Record{}, err
	}
	return outbox.Record{
		EventID: t.EventID, TicketID: t.TicketID, State: t.State, Hazard: t.Hazard, Rule: t.Rule,
		Device: dev.ID, Level: t.Level, Priority: outbox.PriorityTicket, Payload: payload, CreatedAt: res.At,
	}, nil
}

// cleanBy keeps who asked printable and short: one terminal-safe line
// (sanitize.Line: escape sequences and controls removed), at most maxBy
// bytes cut at a character boundary; "" is "unknown".
func cleanBy(by string) string {
	by = strings.TrimSpace(sanitize.Line(by))
	for len(by) > maxBy {
		_, size := utf8.DecodeLastRuneInString(by)
		by = by[:len(by)-size]
	}
	if by == "" {
		return "unknown"
	}
	return by
}

// Control writes the device's command register through its bus owner
// (between polls: never a second master), then commits the operation
// record, whatever the device answered. The local socket asks with source
// local.
func (v *Views) Control(ctx context.Context, req api.ControlRequest) (api.Control, error) {
	return v.RunControl(ctx, req, ticket.SourceLocal)
}

// RunControl is Control for source local (the socket) or remote (a
// downlink command, when allowed).
func (v *Views) RunControl(ctx context.Context, req api.ControlRequest, source string) (api.Control, error) {
	dev, ok := v.loop.Devices().Get(req.Device)
	if !ok {
		return api.Control{}, v.errNoDevice(req.Device)
	}
	if err := busdiag.CheckControl(dev.Config, dev.Profile, req.Action); err != nil {
		return api.Control{}, err
	}
	run, err := v.opts.Bus(dev.Config.Bus)
	if err != nil {
		return api.Control{}, err
	}
	res, err := busdiag.WriteCommand(ctx, run, dev.Config, dev.Profile, req.Action)
	if err != nil {
		return res, err
	}
	v.log.Info("device operation", "device", req.Device, "action", req.Action, "source", source, "by", cleanBy(req.By), "result", res.Result, "err", res.Error)
	status := v.loop.Rules().Condition(req.Device).GBT45839Status()
	rec, err := OperationRecord(res, source, req.By, engine.GatewayInfo(v.cfg.Gateway.ID, v.loop.Config().Gateway.Site), dev.Ticket, status)
	if err == nil {
		var committed []outbox.Record
		// Through the loop's Append and the guard: a storage fault keeps
		// it in memory (published).
		if committed, err = v.loop.Append(ctx, rec); err == nil {
			res.Seq, res.TicketID = committed[0].Seq, committed[0].TicketID
		}
	}
	if err != nil {
		res.RecordError = err.Error()
		v.log.Error("device operation not recorded in the outbox", "device", req.Device, "action", req.Action, "err", err)
	}
	return res, nil
}

// StatusOf is the GB/T 45839 state of a device with these kinds of hazard
// open: 2 报警 while an alarm or hazard is open, else 3 故障 while a fault
// is, else 1 正常监视.
func StatusOf(openKinds []string) int {
	status := 1
	for _, k := range openKinds {
		if k != ticket.KindFault {
			return 2
		}
		status = 3
	}
	return status
}
