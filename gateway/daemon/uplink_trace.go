package daemon

import (
	"context"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/uplinks"
)

// traceUplink answers /v1/uplink/trace: the centre link's frames for d,
// in hex with their decoding. Only the centre link is traced (the MQTT
// link's are MQTT packets: mosquitto_sub or `station watch` show them).
func (d *Daemon) traceUplink(ctx context.Context, name string, dur time.Duration, emit func(api.StreamEvent) error) error {
	if name != uplinks.GB26875Name {
		return api.Reject("uplink %q: only %q can be traced (the centre link)", name, uplinks.GB26875Name)
	}
	if d.gb == nil {
		return api.Reject("uplink %q is not configured on this gateway (uplink.gb26875)", name)
	}
	if err := emit(api.StreamEvent{Type: "start"}); err != nil {
		return err
	}
	dropped, err := d.gb.Trace(ctx, dur, func(f uplinks.TracedFrame) error {
		return emit(api.StreamEvent{Type: "frame", UplinkFrame: &api.UplinkFrame{
			At: f.At, Uplink: name, Dir: f.Dir, Hex: f.Hex, Summary: f.Summary, Objects: f.Objects, Error: f.Error,
		}})
	})
	if dropped > 0 {
		d.log.Warn("uplink trace: frames dropped for a slow reader", "dropped", dropped)
	}
	return err
}
