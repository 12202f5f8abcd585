package daemon

import (
	"context"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/localapi"
)

// RecordOperation commits the operation record of a --direct control to
// the outbox of cfg (no daemon runs: the daemon sends it when it starts);
// see localapi.RecordOperation.
func RecordOperation(ctx context.Context, cfg *config.Config, res api.Control, by string) error {
	return localapi.RecordOperation(ctx, cfg, res, by)
}
