package daemon

import (
	"context"
	"fmt"
	"slices"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/engine"
	"github.com/fenghuo-iot/fenghuo/gateway/localapi"
	"github.com/fenghuo-iot/fenghuo/rules"
	"github.com/fenghuo-iot/fenghuo/uplink/outbox/sqlite"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// RecordOperation commits the operation record of a --direct control to
// the outbox of cfg (no daemon runs: the daemon sends it when it starts).
// The device's status comes from the tickets the outbox holds open.
func RecordOperation(ctx context.Context, cfg *config.Config, res api.Control, by string) error {
	i := slices.IndexFunc(cfg.Devices, func(dc config.Device) bool { return dc.ID == res.Device })
	if i < 0 {
		return fmt.Errorf("device %q is not configured", res.Device)
	}
	dc := cfg.Devices[i]
	p, ok := cfg.Profiles().Get(dc.Profile)
	if !ok {
		return fmt.Errorf("device %q: profile %q not found", dc.ID, dc.Profile)
	}
	dev := engine.NewDevice(dc, p)
	st, err := sqlite.Open(cfg.Buffer.Path, sqlite.Options{})
	if err != nil {
		return fmt.Errorf("buffer.path %s: %w", cfg.Buffer.Path, err)
	}
	defer st.Close()
	open, err := st.OpenTickets(ctx)
	if err != nil {
		return err
	}
	kinds := make([]string, 0, len(open))
	for _, o := range open {
		if o.Device == res.Device {
			if info, ok := rules.LookupHazard(o.Hazard); ok {
				kinds = append(kinds, info.Kind)
			}
		}
	}
	rec, err := localapi.OperationRecord(res, ticket.SourceLocal, by, engine.GatewayInfo(cfg.Gateway.ID, cfg.Gateway.Site), dev.Ticket, localapi.StatusOf(kinds))
	if err != nil {
		return err
	}
	_, err = st.Append(ctx, rec)
	return err
}
