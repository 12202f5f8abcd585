package mqttlink

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/fenghuo-iot/fenghuo/uplink/downlink"
)

// config runs a signed config command when the gateway allows it
// (Options.Config), and logs it either way. The reply carries every
// problem of a refused config.
func (l *Link) config(ctx context.Context, cmd downlink.Command) downlink.Reply {
	if l.opts.Config == nil {
		l.cmdBad.Add(1)
		l.log.Warn("uplink: remote config refused: uplink.allow_remote_config is false", "id", cmd.ID, "by", cmd.By, "bytes", len(cmd.Config))
		return downlink.Fail(cmd.ID, errors.New("remote configuration is off on this gateway (uplink.allow_remote_config: false)"))
	}
	l.log.Info("uplink: remote config", "id", cmd.ID, "by", cmd.By, "bytes", len(cmd.Config))
	res := l.opts.Config(ctx, []byte(cmd.Config), cmd.By)
	rep := downlink.Reply{ID: cmd.ID, OK: res.Applied, Cmd: cmd.Cmd, Config: &res}
	if !res.Applied {
		l.cmdBad.Add(1)
		rep.Error = fmt.Sprintf("config refused, the running one is kept: %d problem(s): %s", len(res.Problems), strings.Join(res.Problems, "; "))
	}
	return rep
}
