package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/fenghuo-iot/fenghuo/gateway/api"
	"github.com/fenghuo-iot/fenghuo/gateway/config"
	"github.com/fenghuo-iot/fenghuo/gateway/engine"
	"github.com/fenghuo-iot/fenghuo/gateway/localapi"
	"github.com/fenghuo-iot/fenghuo/uplink/downlink"
	"github.com/fenghuo-iot/fenghuo/uplink/ticket"
)

// ReloadRemote and ReloadRollback are the sources of a pushed config and
// of its automatic rollback (api.Reload.Source).
const (
	ReloadRemote   = "remote"
	ReloadRollback = "rollback"
)

// confirmCheck is how often a pushed config's confirm window looks at the
// uplink and the buses.
const confirmCheck = 500 * time.Millisecond

// pushed is a pushed config in its confirm window.
type pushed struct {
	prev    []byte // the file it replaced, restored on rollback
	mode    os.FileMode
	applied time.Time // when it was applied: the buses must answer after it
	by      string
}

// remoteConfig is the downlink config command (uplink.allow_remote_config;
// signed): the YAML is checked exactly like `config check` and like a
// reload (what needs a restart is refused), written over the config file
// atomically and applied as a reload. It is kept only if, within
// uplink.config_confirm, the uplink is connected and every bus answers
// (confirmPushed); otherwise the previous file is restored and applied
// by itself. Every attempt is an operation record in the outbox.
func (d *Daemon) remoteConfig(ctx context.Context, yaml []byte, by string) downlink.ConfigResult {
	d.runner.reloading.Lock()
	defer d.runner.reloading.Unlock()
	res, p, err := d.pushConfig(ctx, yaml)
	if err != nil {
		res.Problems = config.ProblemList(err)
		d.log.Warn("remote config refused; the running config is kept", "by", by, "problems", strings.Join(res.Problems, "; "))
		d.recordConfigOp(ticket.ResultFailed, "refused: "+strings.Join(res.Problems, "; "), by)
		return res
	}
	res.Hash = d.loop.ConfigHash()
	if res.Unchanged {
		d.recordConfigOp(ticket.ResultOK, "unchanged: the pushed config is the running one", by)
		return res
	}
	p.by = by
	d.runner.pending = p
	d.runner.confirms.Go(func() { d.confirmPushed(p) })
	d.recordConfigOp(ticket.ResultOK, fmt.Sprintf("applied; kept if the uplink and every bus answer within %s", d.confirmWindow()), by)
	return res
}

// pushConfig checks, writes and applies a pushed config; d.runner.reloading
// is held. An error refuses it and leaves the file and the running config
// as they were.
func (d *Daemon) pushConfig(ctx context.Context, yaml []byte) (downlink.ConfigResult, *pushed, error) {
	res := downlink.ConfigResult{ConfirmWindowS: d.confirmWindow().Seconds()}
	if d.runner.pending != nil {
		return res, nil, errors.New("a pushed config is still in its confirm window; send it again once that one is kept or rolled back")
	}
	if d.opts.ConfigPath == "" {
		return res, nil, errors.New("this daemon was started without a config file to replace")
	}
	cfg, err := config.Parse(yaml)
	if err != nil {
		return res, nil, err
	}
	if cfg.Hash() == d.loop.ConfigHash() {
		res.Applied, res.Unchanged = true, true
		return res, nil, nil
	}
	if err := d.loop.Config().NeedsRestart(cfg); err != nil {
		return res, nil, err
	}
	prev, mode, err := config.ReadFile(d.opts.ConfigPath)
	if err != nil {
		return res, nil, err
	}
	// The previous file is kept beside it until the push is confirmed: a
	// crash or power cut in the window restores it at the next start
	// (RestoreUnconfirmed).
	if err := config.WriteFile(d.opts.ConfigPath+config.PreviousSuffix, prev, mode); err != nil {
		return res, nil, err
	}
	if err := config.WriteFile(d.opts.ConfigPath, yaml, mode); err != nil {
		d.dropPrevious()
		return res, nil, err
	}
	r := d.reloadLocked(ctx, ReloadRemote, cfg)
	// After the reload: the stopped owners' last polls are older, so only
	// the buses as the new config runs them can prove it.
	applied := time.Now()
	if !r.OK {
		if err := config.WriteFile(d.opts.ConfigPath, prev, mode); err != nil {
			d.log.Error("REMOTE CONFIG: the previous config file could not be restored; fix it before the next restart", "path", d.opts.ConfigPath, "err", err)
		} else {
			d.dropPrevious()
		}
		return res, nil, errors.New(strings.Join(r.Problems, "; "))
	}
	res.Applied = true
	return res, &pushed{prev: prev, mode: mode, applied: applied}, nil
}

// dropPrevious removes the previous config file once it is not needed.
func (d *Daemon) dropPrevious() {
	if err := os.Remove(d.opts.ConfigPath + config.PreviousSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
		d.log.Warn("remote config: the previous config file could not be removed (the next start would restore it)", "err", err)
	}
}

// confirmWindow is uplink.config_confirm (tests: Options.confirmWindow).
func (d *Daemon) confirmWindow() time.Duration {
	if d.opts.confirmWindow > 0 {
		return d.opts.confirmWindow
	}
	return d.cfg.Uplink.ConfigConfirm
}

// confirmPushed keeps a pushed config once the uplink is connected and
// every bus has answered since it was applied, or rolls it back when the
// window ends first. A stop during the window restores the previous file
// (applied at the next start): an unconfirmed config is never kept.
func (d *Daemon) confirmPushed(p *pushed) {
	window := d.confirmWindow()
	deadline := time.NewTimer(window)
	defer deadline.Stop()
	tick := time.NewTicker(confirmCheck)
	defer tick.Stop()
	ctx := d.runner.ctx
	for {
		select {
		case <-tick.C:
			if why := d.unproven(p.applied); why == "" {
				d.endPush(ticket.ResultOK, "kept: the uplink is connected and every bus answers", p, false)
				return
			}
		case <-deadline.C:
			d.endPush(ticket.ResultFailed, fmt.Sprintf("rolled back: %s within %s", d.unproven(p.applied), window), p, true)
			return
		case <-ctx.Done():
			why := "the gateway stopped before the pushed config was confirmed: the previous config file is restored for the next start"
			if err := config.WriteFile(d.opts.ConfigPath, p.prev, p.mode); err != nil {
				why = "the gateway stopped before the pushed config was confirmed, and the previous config file could not be restored (the next start restores it): " + err.Error()
			} else {
				d.dropPrevious()
			}
			d.endPush(ticket.ResultFailed, why, p, false)
			return
		}
	}
}

// unproven says what a pushed config has not shown yet ("" when it has):
// the uplink connected with the config's connection settings (a new
// broker, client id, credentials or TLS files: a new session, not the
// one from before the push), and every bus with a device polled
// successfully since it was applied.
func (d *Daemon) unproven(since time.Time) string {
	if !d.link.ConnectedAsConfigured() {
		return "the uplink did not connect to " + d.link.Broker()
	}
	answered := map[string]bool{}
	for _, v := range d.loop.Devices().Snapshot() {
		answered[v.Config.Bus] = answered[v.Config.Bus] || v.LastOK.After(since)
	}
	var silent []string
	for _, b := range d.loop.Config().Buses {
		if ok, has := answered[b.Name]; has && !ok {
			silent = append(silent, b.Name)
		}
	}
	if len(silent) > 0 {
		slices.Sort(silent)
		return fmt.Sprintf("bus %s did not answer", strings.Join(silent, ", "))
	}
	return ""
}

// endPush ends a confirm window: it records the outcome and, when
// rollback, restores and applies the previous config file.
func (d *Daemon) endPush(result, why string, p *pushed, rollback bool) {
	d.runner.reloading.Lock()
	defer d.runner.reloading.Unlock()
	d.runner.pending = nil
	if !rollback {
		if result == ticket.ResultOK {
			d.dropPrevious()
		}
		d.log.Info("remote config "+why, "by", p.by)
		d.recordConfigOp(result, why, p.by)
		return
	}
	d.log.Error("REMOTE CONFIG ROLLED BACK: "+why, "by", p.by)
	if err := config.WriteFile(d.opts.ConfigPath, p.prev, p.mode); err != nil {
		why += "; the previous file could not be written back (the next start restores it): " + err.Error()
	} else {
		d.dropPrevious()
	}
	if r := d.reloadLocked(context.Background(), ReloadRollback, nil); !r.OK {
		why += "; the previous config did not apply: " + strings.Join(r.Problems, "; ")
	}
	d.recordConfigOp(result, why, p.by)
}

// recordConfigOp commits an operation record of a remote config attempt.
func (d *Daemon) recordConfigOp(result, detail, by string) {
	cfg := d.loop.Config()
	gw := engine.GatewayInfo(cfg.Gateway.ID, cfg.Gateway.Site)
	status := d.loop.Rules().Condition(cfg.Gateway.ID).GBT45839Status()
	res := api.Control{Action: ticket.ActionConfig, Result: result, Error: detail, At: time.Now()}
	rec, err := localapi.OperationRecord(res, ticket.SourceRemote, "remote:"+by, gw, ticket.GatewayDevice(gw), status)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
		defer cancel()
		_, err = d.loop.Append(ctx, rec)
	}
	if err != nil {
		d.log.Error("remote config: the operation record was not committed", "result", result, "err", err)
	}
}
