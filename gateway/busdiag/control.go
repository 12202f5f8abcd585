package busdiag

import (
	"context"
	"fmt"
	"time"

	"github.com/fenghuo-iot/fenghuo/drivers/profile"
	"github.com/fenghuo-iot/fenghuo/drivers/transport"
	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// This file is the bus work of `fenghuo diag control`.

// CheckControl refuses an action the device's profile has no command
// register for, naming the ones it has.
func CheckControl(dev config.Device, p *profile.Profile, action string) error {
	if _, _, err := p.CommandOf(action); err != nil {
		return api.Reject("device %s: %v", dev.ID, err)
	}
	return nil
}

// WriteCommand writes the action's command value to dev's command
// register, as one job of run (the bus owner's queue, or the line --direct
// opened). A device that does not take the write is a Result "failed", not
// an error; an error means nothing was tried.
func WriteCommand(ctx context.Context, run Runner, dev config.Device, p *profile.Profile, action string) (api.Control, error) {
	var res api.Control
	err := run(ctx, func(ctx context.Context, tr transport.Transport) error {
		var err error
		res, err = writeCommand(ctx, tr, dev, p, action)
		return err
	})
	return res, err
}

func writeCommand(ctx context.Context, tr transport.Transport, dev config.Device, p *profile.Profile, action string) (api.Control, error) {
	cmd, pt, err := p.CommandOf(action)
	if err != nil {
		return api.Control{}, api.Reject("device %s: %v", dev.ID, err)
	}
	words, err := profile.EncodeValue(pt, cmd.Value)
	if err != nil {
		return api.Control{}, fmt.Errorf("device %s: %s command: %w", dev.ID, action, err)
	}
	res := api.Control{Device: dev.ID, Action: action, Point: pt.Name, Address: pt.Address, Value: cmd.Value, Result: ticket.ResultOK}
	if err := tr.Write(ctx, uint8(dev.Slave), uint16(pt.Address), words); err != nil {
		res.Result, res.Error = ticket.ResultFailed, err.Error()
	}
	res.At = time.Now()
	return res, nil
}
